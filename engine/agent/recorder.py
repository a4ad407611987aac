"""The agent's `CallRecorder` over PostgreSQL.

Nothing is written inline while the call runs: transcript turns and call steps go to the
node's queued call log (`engine.lifecycle.call_log.DatabaseCallLog`), which retries a failed
write with a bound and counts what it had to drop. A slow or failing database therefore
never ends a live call. The call's metrics travel in the `CallReport`; the attempt stores them.
"""

from __future__ import annotations

from typing import Any

from engine.ports.agent import TranscriptTurn
from engine.ports.call_record import CallRecorder


class DatabaseCallRecorder:
    """One call's record, handed to the node's queued call log (which scopes each row by the call's owner)."""

    def __init__(self, call_log: CallRecorder) -> None:
        self._log = call_log

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None:
        await self._log.transcript_turn(call_id, turn)

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        await self._log.call_event(call_id, kind, message, data)
