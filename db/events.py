"""The audit trail: task events, call events and raw ARI events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from db.errors import NotFound
from db.models import AriEvent, CallEvent, Executor, TaskEvent, columns
from db.notify import publish
from db.pool import connection
from db.validation import check_length

_TASK_EVENT = columns(TaskEvent)
_CALL_EVENT = columns(CallEvent)
_ARI_EVENT = columns(AriEvent)


async def add_task_event(
    conn: Executor,
    user_id: int,
    task_id: UUID,
    *,
    kind: str,
    message: str,
    actor: str = "system",
    call_id: UUID | None = None,
    data: dict[str, Any] | None = None,
) -> TaskEvent:
    """An event that is not a status change (a reminder, a strategy note, a policy delay)."""
    check_length("kind", kind, 60, required=True)
    check_length("message", message, 2000, required=True)
    record = await conn.fetchrow(
        f"""INSERT INTO task_events (user_id, task_id, call_id, kind, actor, message, data)
            SELECT $1, id, $3, $4, $5, $6, $7 FROM tasks WHERE id = $2 AND user_id = $1
            RETURNING {_TASK_EVENT}""",
        user_id,
        task_id,
        call_id,
        kind,
        actor,
        message,
        data or {},
    )
    if record is None:
        raise NotFound("task", task_id)
    await publish(conn, "task_event", user_id, task_id=task_id)
    return TaskEvent.from_record(record)


async def list_task_events(conn: Executor, user_id: int, task_id: UUID) -> list[TaskEvent]:
    records = await conn.fetch(
        f"SELECT {_TASK_EVENT} FROM task_events WHERE task_id = $1 AND user_id = $2 ORDER BY id",
        task_id,
        user_id,
    )
    return [TaskEvent.from_record(r) for r in records]


async def add_call_event(
    conn: Executor, user_id: int, call_id: UUID, *, kind: str, message: str, data: dict[str, Any] | None = None
) -> CallEvent:
    check_length("kind", kind, 60, required=True)
    check_length("message", message, 2000, required=True)
    async with connection(conn) as c:  # one connection for the row and its notification
        record = await c.fetchrow(
            f"""INSERT INTO call_events (user_id, call_id, kind, message, data)
                SELECT $1, id, $3, $4, $5 FROM calls WHERE id = $2 AND user_id = $1
                RETURNING {_CALL_EVENT}""",
            user_id,
            call_id,
            kind,
            message,
            data or {},
        )
        if record is None:
            raise NotFound("call", call_id)
        await publish(c, "call_event", user_id, call_id=call_id)
    return CallEvent.from_record(record)


async def list_call_events(conn: Executor, user_id: int, call_id: UUID) -> list[CallEvent]:
    records = await conn.fetch(
        f"SELECT {_CALL_EVENT} FROM call_events WHERE call_id = $1 AND user_id = $2 ORDER BY id",
        call_id,
        user_id,
    )
    return [CallEvent.from_record(r) for r in records]


async def add_ari_events(
    conn: Executor,
    user_id: int,
    call_id: UUID,
    events: Iterable[tuple[datetime, str, str | None, dict[str, Any]]],
) -> int:
    """Store raw ARI events (at, type, channel id, payload) of one of the user's calls."""
    rows = list(events)
    if not rows:
        return 0
    inserted = await conn.fetchval(
        """WITH owned AS (SELECT id FROM calls WHERE id = $2 AND user_id = $1),
                ins AS (
                    INSERT INTO ari_events (user_id, call_id, at, event_type, channel_id, payload)
                    SELECT $1, owned.id, e.at, e.event_type, e.channel_id, e.payload
                    FROM owned, unnest($3::timestamptz[], $4::text[], $5::text[], $6::jsonb[])
                         AS e(at, event_type, channel_id, payload)
                    RETURNING 1)
           SELECT count(*) FROM ins""",
        user_id,
        call_id,
        [r[0] for r in rows],
        [r[1][:80] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    if inserted == 0:
        raise NotFound("call", call_id)
    return inserted


async def list_ari_events(
    conn: Executor,
    user_id: int,
    *,
    call_id: UUID | None = None,
    event_type: str | None = None,
    channel_id: str | None = None,
    limit: int = 500,
    before_id: int | None = None,
) -> list[AriEvent]:
    records = await conn.fetch(
        f"""SELECT {_ARI_EVENT} FROM ari_events
            WHERE user_id = $1 AND ($2::uuid IS NULL OR call_id = $2)
              AND ($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR channel_id = $4)
              AND ($6::bigint IS NULL OR id < $6)
            ORDER BY id DESC LIMIT $5""",
        user_id,
        call_id,
        event_type,
        channel_id,
        limit,
        before_id,
    )
    return [AriEvent.from_record(r) for r in reversed(records)]
