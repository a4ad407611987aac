"""The call's voice-model session (replaced once on a reconnect) and the response under way.

Events of the current session are queued into the call's inbox tagged with
its generation, so events of a replaced session can be told apart and dropped.

One reply per callee turn: the service answers each turn by itself (VAD
`create_response`), so a response we ask for is sent only when none is under
way, and only if something it should react to (context, a tool result) is new
to the model since the response that answers the callee's turn. When our
create races the service's own response for the turn and is refused, the
adapter sends it again later; a response that then starts with nothing to
answer is a second, unprompted reply, and `response_started` says to cancel it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from engine.agent.call_tasks import CallTasks
from engine.agent.inbox import Inbox
from engine.agent.state import CallStatus
from engine.ports.telephony import AudioFormat
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


@dataclass(slots=True)
class _Want:
    """A response we asked for."""

    instructions: str | None
    items: int  # conversation items we had added when it was asked for
    refused: bool = False  # the service refused it (another response was active); the adapter resends it


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
        inbox: Inbox,
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
        self._reset_turns()

    def _reset_turns(self) -> None:
        self.turn = 0  # callee turns the model noticed ending
        self._answered_turn = 0  # the last callee turn a response started for
        self._items = 0  # context and tool results we added
        self._items_at_turn = 0  # ... when the callee's last turn ended: its VAD answer saw those
        self._items_seen = 0  # ... that a started response has seen
        self._sent: _Want | None = None  # asked for; its response has not started yet
        self._held: _Want | None = None  # asked for while another response runs; sent once it is done
        self._matched: _Want | None = None  # the sent request the running response was taken for
        self._seen_before_match = 0
        self._unwanted_resends = 0  # refused creates the adapter will send again that nobody wants now

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

    async def open_transcriber(self, instructions: str, media_format: AudioFormat) -> VoiceSession | None:
        """A second session of the same model and settings, without tools, to transcribe another voice on
        the call (the owner's); None when this call transcribes nothing. Its caller owns and closes it."""
        if not self._config.transcription_model:
            return None
        config = dataclasses.replace(self._config, instructions=instructions, tools=(), media_format=media_format)
        return await self._model.open(config)

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
        deliver_to = getattr(session, "deliver_to", None)
        if deliver_to is not None:  # straight into the inbox, without a pump task (see VoiceSession)
            generation, inbox = self.generation, self._inbox
            deliver_to(lambda event: inbox.put_nowait(FromVoice(generation, event)))
        else:
            self._tasks.spawn(self._pump(session, self.generation), f"voice-pump-{self.generation}")

    async def _pump(self, session: VoiceSession, generation: int) -> None:
        async for event in session.events():
            self._inbox.put_nowait(FromVoice(generation, event))

    async def create_response(self, instructions: str | None = None) -> None:
        if self.session is None or self._status.winding_down:
            return
        if self.model_owns_turns:
            # There is no response to wait for, queue or match; the adapter turns this into a
            # directive (or continues a delegated tool call).
            self._last_create = instructions  # what a retry after a rate limit asks again
            await self.session.create_response(instructions)
            return
        if self.callee_speaking and instructions is None:
            return  # the model answers by itself once the callee stops (VAD create_response)
        self._last_create = instructions
        if self.active_response is None and self._sent is None:
            await self._send(_Want(instructions, self._items))
            return
        covered = max(self._items_seen, self._sent.items if self._sent else 0)
        if instructions is None and self._items <= covered:
            return  # the response under way already answers everything the model was given
        held = self._held
        self._held = _Want(instructions or (held.instructions if held else None), self._items)

    async def _send(self, want: _Want) -> None:
        assert self.session is not None
        self._sent = want
        await self.session.create_response(want.instructions)

    async def retry_response(self) -> None:
        """Ask again after a rate limit: the failed request never started a response."""
        self._sent = None
        await self.create_response(self._last_create)

    async def add_context(self, text: str) -> None:
        if self.session is not None:
            self._items += 1
            await self.session.add_context(text)

    async def send_tool_result(self, call_id: str, output: str) -> None:
        if self.session is not None:
            self._items += 1
            await self.session.send_tool_result(call_id, output)

    def callee_stopped(self) -> None:
        self.callee_speaking = False
        self.turn += 1
        self._items_at_turn = self._items

    @property
    def model_owns_turns(self) -> bool:
        """The model takes turns itself (GPT-Live): no response lifecycle, so a request reaches it at once,
        even mid-turn, and is never queued behind, matched to or answered by a response of its own."""
        return self.session is not None and not self.session.capabilities.supports_response_create

    @property
    def answer_due(self) -> bool:
        """The callee's last turn has ended and the service's own answer to it (VAD `create_response`)
        has not started yet: it is on its way (the service's latency), so the events of this session are
        still needed. Never on a model that owns turn-taking: it may choose to stay silent."""
        if self.session is None or self.model_owns_turns:
            return False
        return self.turn > self._answered_turn

    def response_started(self, response_id: str) -> bool:
        """Note a response under way; True when it is a second reply nobody asked for (cancel it)."""
        self.active_response = response_id
        self.response_idle.clear()
        if self.turn > self._answered_turn:  # the service's own answer to the callee's turn
            self._answered_turn = self.turn
            self._items_seen = max(self._items_seen, self._items_at_turn)
        sent, self._matched = self._sent, None
        if sent is not None and not sent.refused:
            self._sent, self._matched, self._seen_before_match = None, sent, self._items_seen
            self._items_seen = max(self._items_seen, sent.items)
        elif sent is not None:  # the response that made the service refuse ours
            sent.refused = False
            if sent.items <= self._items_seen:
                self._sent = None
                self._unwanted_resends += 1
        elif self._unwanted_resends:
            self._unwanted_resends -= 1  # our refused create, sent again by the adapter after the turn's answer
            return True
        if self._held is not None and self._held.items <= self._items_seen and not self._held.instructions:
            self._held = None  # answered by this response
        return False

    def create_refused(self) -> None:
        """The service refused our create: another response (its own answer to the callee) was running.
        The adapter sends ours again once that one is done; keep wanting it only if it adds something."""
        if self._sent is not None:  # refused before the response that won reached us
            self._sent.refused = True
            return
        refused, self._matched = self._matched, None
        if refused is None:
            return
        self._items_seen = max(self._seen_before_match, self._items_at_turn)
        if refused.items > self._items_seen:
            self._sent = refused  # e.g. a tool result the turn's answer could not see: one follow-up
        else:
            self._unwanted_resends += 1

    async def response_done(self, response_id: str) -> None:
        if response_id == self.active_response:
            self.active_response = None
        self._matched = None
        self.response_idle.set()
        held = self._held
        if held is not None and self.active_response is None and self._sent is None:
            self._held = None
            if held.instructions or held.items > self._items_seen:
                await self._send(held)

    async def close(self) -> None:
        """Close the current session; the turn state starts afresh for a new one."""
        if self.session is not None:
            await self.session.close()
        self.active_response, self.callee_speaking = None, False
        self.response_idle.set()
        self._reset_turns()
