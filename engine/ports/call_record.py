"""Where the voice agent writes a call's record while the call runs.

PostgreSQL in production (`engine.agent.recorder.DatabaseCallRecorder`): turns and
steps both through the node's queued, retrying call log.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.ports.agent import TranscriptTurn


class CallRecorder(Protocol):
    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None: ...

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """A human-readable step: tool calls, barge-ins, HITL, reconnects."""
