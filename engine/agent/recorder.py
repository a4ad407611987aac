"""The agent's `CallRecorder` over PostgreSQL.

Transcript turns are written as they end. Call steps go to the node's one
writer of `call_events`, the queued call log (`engine.lifecycle.call_log.DatabaseCallLog`,
a `TelephonyEventSink`). The call's metrics travel in the `CallReport`; the
attempt stores them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from db import transcripts
from db.models import Executor
from engine.ports.agent import TranscriptTurn
from engine.ports.telephony import TelephonyEventSink


class DatabaseCallRecorder:
    """Stores one user's call record; every write is scoped to that user."""

    def __init__(self, db: Executor, user_id: int, call_events: TelephonyEventSink) -> None:
        self._db = db
        self._user_id = user_id
        self._call_events = call_events

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None:
        await transcripts.add_turn(
            self._db,
            self._user_id,
            UUID(call_id),
            speaker=turn.speaker,
            text=turn.text[:20000],
            started_at=turn.started_at,
            ended_at=turn.ended_at,
            truncated=turn.truncated,
        )

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        await self._call_events.call_event(call_id, kind, message, data)
