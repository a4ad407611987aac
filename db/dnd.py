"""Do-not-call lists: one per user, and a global one (user_id NULL)."""

from __future__ import annotations

from db.errors import NotFound
from db.models import DndNumber, Executor, columns
from db.validation import check_length, normalize_phone_number

_DND = columns(DndNumber)


async def add_number(
    conn: Executor, user_id: int, phone_number: str, *, reason: str = "", default_region: str | None = None
) -> DndNumber:
    number = normalize_phone_number(phone_number, default_region)
    check_length("reason", reason, 500)
    record = await conn.fetchrow(
        f"""INSERT INTO dnd_numbers (user_id, phone_number, reason) VALUES ($1, $2, $3)
            ON CONFLICT (user_id, phone_number) WHERE user_id IS NOT NULL
            DO UPDATE SET reason = EXCLUDED.reason RETURNING {_DND}""",
        user_id,
        number,
        reason,
    )
    return DndNumber.from_record(record)


async def remove_number(conn: Executor, user_id: int, phone_number: str) -> None:
    status = await conn.execute(
        "DELETE FROM dnd_numbers WHERE user_id = $1 AND phone_number = $2", user_id, phone_number
    )
    if status == "DELETE 0":
        raise NotFound("do-not-call entry", phone_number)


async def list_numbers(conn: Executor, user_id: int) -> list[DndNumber]:
    records = await conn.fetch(
        f"SELECT {_DND} FROM dnd_numbers WHERE user_id = $1 ORDER BY created_at DESC", user_id
    )
    return [DndNumber.from_record(r) for r in records]


async def blocking_entry(conn: Executor, user_id: int, phone_number: str) -> DndNumber | None:
    """The user's or the global entry that forbids calling this number, if any."""
    record = await conn.fetchrow(
        f"""SELECT {_DND} FROM dnd_numbers
            WHERE phone_number = $2 AND (user_id = $1 OR user_id IS NULL)
            ORDER BY user_id NULLS LAST LIMIT 1""",
        user_id,
        phone_number,
    )
    return DndNumber.from_record(record)


async def promote_to_global(conn: Executor, threshold: int) -> list[str]:
    """System job: numbers on at least `threshold` users' lists join the global list."""
    records = await conn.fetch(
        """INSERT INTO dnd_numbers (user_id, phone_number, reason)
           SELECT NULL, phone_number, 'on ' || count(DISTINCT user_id) || ' users'' lists'
           FROM dnd_numbers WHERE user_id IS NOT NULL
           GROUP BY phone_number HAVING count(DISTINCT user_id) >= $1
           ON CONFLICT (phone_number) WHERE user_id IS NULL DO NOTHING
           RETURNING phone_number""",
        threshold,
    )
    return [r["phone_number"] for r in records]


async def list_global_numbers(conn: Executor) -> list[DndNumber]:
    records = await conn.fetch(f"SELECT {_DND} FROM dnd_numbers WHERE user_id IS NULL ORDER BY created_at DESC")
    return [DndNumber.from_record(r) for r in records]
