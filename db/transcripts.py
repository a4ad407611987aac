"""Transcript turns: what the agent and the callee said, with timestamps."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from db.errors import NotFound
from db.models import Executor, TranscriptTurn, columns
from db.notify import publish
from db.pool import connection
from db.validation import check_choice, check_length

SPEAKERS = ("agent", "callee", "system", "owner")  # owner: their own words on a live call (migration 0010)
_TURN = columns(TranscriptTurn)


async def add_turn(
    conn: Executor,
    user_id: int,
    call_id: UUID,
    *,
    speaker: str,
    text: str,
    started_at: datetime,
    ended_at: datetime | None = None,
    truncated: bool = False,
) -> TranscriptTurn:
    check_choice("speaker", speaker, SPEAKERS)
    check_length("text", text, 20000)
    async with connection(conn) as c:  # one connection for the row and its notification
        record = await c.fetchrow(
            f"""INSERT INTO transcript_turns (user_id, call_id, speaker, text, started_at, ended_at, truncated)
                SELECT $1, id, $3, $4, $5, $6, $7 FROM calls WHERE id = $2 AND user_id = $1
                RETURNING {_TURN}""",
            user_id,
            call_id,
            speaker,
            text,
            started_at,
            ended_at,
            truncated,
        )
        if record is None:
            raise NotFound("call", call_id)
        await publish(c, "transcript", user_id, call_id=call_id)
    return TranscriptTurn.from_record(record)


async def list_turns(conn: Executor, user_id: int, call_id: UUID) -> list[TranscriptTurn]:
    records = await conn.fetch(
        f"""SELECT {_TURN} FROM transcript_turns WHERE call_id = $1 AND user_id = $2
            ORDER BY started_at, id""",
        call_id,
        user_id,
    )
    return [TranscriptTurn.from_record(r) for r in records]
