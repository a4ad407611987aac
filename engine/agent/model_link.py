"""The call's voice-model session (replaced once on a reconnect) and the response under way.

Events of the current session are queued into the call's inbox tagged with
its generation, so events of a replaced session can be told apart and dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from engine.agent.call_tasks import CallTasks
from engine.agent.state import CallStatus
from engine.ports.voice_model import VoiceModel, VoiceSession, VoiceSessionConfig

RESUME = (
    "The phone connection to you dropped for a moment; this is the conversation so far:\n"
    "{summary}\n"
    "Apologise in one short sentence for the interruption and continue where you left off."
)

HANDOVER = (
    "You are taking over a phone call that is already under way; the callee must not notice the change. "
    "This is the conversation so far:\n{summary}\n"
    "Do not greet or apologise; wait for the callee and carry on exactly where the conversation is."
)


@dataclass(frozen=True, slots=True)
class FromVoice:
    generation: int  # which model session sent it; events of a replaced session are stale
    event: Any


class ModelLink:
    def __init__(
        self,
        model: VoiceModel,
        config: VoiceSessionConfig,
        greeting: str | None,
        inbox: asyncio.Queue[Any],
        tasks: CallTasks,
        status: CallStatus,
    ) -> None:
        self._model = model
        self._config = config
        self._greeting = greeting
        self._inbox = inbox
        self._tasks = tasks
        self._status = status
        self.session: VoiceSession | None = None
        self.generation = 0
        self.active_response: str | None = None
        self.response_idle = asyncio.Event()
        self.response_idle.set()
        self.cancelled: set[str] = set()  # responses whose audio is stale (the callee interrupted)
        self.responses_heard: set[str] = set()
        self.callee_speaking = False
        self._last_create: str | None = None

    async def open(self, *, resume_with: str | None = None, greet: bool = False) -> None:
        """Open a session; with the conversation so far, ask for the follow-up; with `greet`, for the greeting."""
        session = await self._model.open(self._config)
        self._use(session)
        if resume_with is not None:
            await session.add_context(RESUME.format(summary=resume_with))
            await self.create_response()
        elif greet:
            await self.greet()

    async def greet(self) -> None:
        await self.create_response(self._greeting)

    async def open_spare(self) -> VoiceSession:
        """A planned handover: a fresh session, opened while the current one goes on."""
        return await self._model.open(self._config)

    async def switch_to(self, session: VoiceSession, summary: str) -> None:
        """Tell `session` the conversation so far, make it the call's session and close the one it
        replaces (whose events are dropped from now on)."""
        await session.add_context(HANDOVER.format(summary=summary))
        old = self.session
        self._use(session)
        self.active_response, self.callee_speaking = None, False
        self.response_idle.set()
        if old is not None:
            await old.close()

    def _use(self, session: VoiceSession) -> None:
        self.generation += 1
        self.session = session
        self._tasks.spawn(self._pump(session, self.generation), f"voice-pump-{self.generation}")

    async def _pump(self, session: VoiceSession, generation: int) -> None:
        async for event in session.events():
            self._inbox.put_nowait(FromVoice(generation, event))

    async def create_response(self, instructions: str | None = None) -> None:
        if self.session is None or self._status.winding_down:
            return
        if self.callee_speaking and instructions is None:
            return  # the model answers by itself once the callee stops (VAD create_response)
        self._last_create = instructions
        await self.session.create_response(instructions)

    async def retry_response(self) -> None:
        await self.create_response(self._last_create)

    async def add_context(self, text: str) -> None:
        if self.session is not None:
            await self.session.add_context(text)

    def response_started(self, response_id: str) -> None:
        self.active_response = response_id
        self.response_idle.clear()

    def response_done(self, response_id: str) -> None:
        if response_id == self.active_response:
            self.active_response = None
        self.response_idle.set()

    async def close(self) -> None:
        """Close the current session; the turn state starts afresh for a new one."""
        if self.session is not None:
            await self.session.close()
        self.active_response, self.callee_speaking = None, False
        self.response_idle.set()
