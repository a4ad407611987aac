"""What every simulated connection shares: the responder, the serve-mode switches, the
failures tests script, the hooks, the id counter and the change notification.

`RealtimeSimulator` is these controls plus a WebSocket server; a `SimulatedSession`
reads them, so it depends on this module and not on the server.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from engine.voice.simulator.line import LineEcho
from engine.voice.simulator.script import Responder, ScriptedReplies

Hook = Callable[[Any, dict[str, Any]], Awaitable[None]]  # (the SimulatedSession, the client event)


class SimulatorControls:
    def __init__(
        self,
        responder: Responder | None = None,
        *,
        energy_vad: bool = False,
        idle_timeout_s: float | None = None,
        chunk_ms: int = 100,
    ) -> None:
        self.responder = responder or ScriptedReplies()
        self.energy_vad = energy_vad  # detect turns in appended audio (else tests script them)
        self.idle_timeout_s = idle_timeout_s  # serve mode: speak up after this much silence
        self.chunk_ms = chunk_ms
        self.hooks: dict[str, Hook] = {}
        self.failing_creates: list[str] = []  # error codes answering the next requests to speak (Realtime:
        # response.create; GPT-Live: session.instructions.append)
        self.failing_transcriptions: list[str] = []  # error codes failing the next input transcriptions
        self.callee_lines: list[str] = []  # what the callee says in its next detected turns (transcripts)
        # What a detected turn said, by how long it was voiced (ms), before `callee_lines`; None: not known.
        # It tells speakers apart by what each session really heard (a long speech is the owner's, say).
        self.recognise: Callable[[int], str | None] | None = None
        self.echo: LineEcho | None = None  # the line echoes the agent's audio (sessions opened after setting it)
        self.format_echo: str | None = None  # "add_rate" | "drop_rate": session.updated misreports the formats
        self.rate_limit_remaining = 1000
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    def before(self, client_event_type: str, hook: Hook) -> None:
        """Run `hook(session, event)` before the simulator handles that client event type."""
        self.hooks[client_event_type] = hook

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked whenever a client event arrives)."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def notify(self) -> None:
        """A client event arrived or a connection ended: re-check what `wait_for` waits on."""
        async with self._changed:
            self._changed.notify_all()

    def words_of_turn(self, voiced_ms: int) -> str | None:
        """What a turn the session's VAD detected said: `recognise` first, then the next of `callee_lines`."""
        text = self.recognise(voiced_ms) if self.recognise is not None else None
        if text is None and self.callee_lines:
            text = self.callee_lines.pop(0)
        return text

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"
