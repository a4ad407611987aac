"""What the call's supervisors share (engine.agent.supervision): when someone last made a sound,
the responses the model started, whether the line is quiet, and the agent's last word.

`last_word` is how a supervisor ends a call politely: it asks for one last response
(a goodbye, a voicemail message), moves the call to ENDING, and hangs up once that
response has been played (on GPT-Live, the model's turn under way when it is asked for
carries it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep
from engine.clock import within

log = logging.getLogger(__name__)


class CallWatch:
    def __init__(self, call: LiveCall) -> None:
        self.call = call
        self.last_sound = call.clock.monotonic()
        self.responses_started = 0
        self._changed = asyncio.Event()

    # --- what happened -------------------------------------------------------------------

    def touch(self) -> None:
        """Someone made a sound (or stopped making one): the silence starts now."""
        self.last_sound = self.call.clock.monotonic()
        self.poke()

    def poke(self) -> None:
        """Something that waiters may wait on changed."""
        self._changed.set()

    def response_started(self) -> None:
        self.responses_started += 1
        self.touch()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds (re-checked whenever the call pokes the watch)."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    # --- the line ----------------------------------------------------------------------------

    @property
    def agent_speaking(self) -> bool:
        call = self.call
        return call.link.active_response is not None or (call.playout is not None and call.playout.speaking)

    @property
    def quiet(self) -> bool:
        """Nobody speaks and nobody is about to: a moment the callee would not notice a change in."""
        return not (self.call.link.callee_speaking or self.agent_speaking)

    def silent_for(self) -> float:
        return self.call.clock.monotonic() - self.last_sound

    # --- ending politely ------------------------------------------------------------------------

    async def last_word(self, instructions: str, reason: str, step: CallStep) -> None:
        """Say one last thing (`instructions` for the model), then hang up once it has been played."""
        call = self.call
        if call.status.winding_down:
            return
        before = self.responses_started  # the responses that came before the one carrying the last word
        if call.link.active_response is not None and call.link.model_owns_turns:
            # On Realtime a request made while a response is under way waits for it (ModelLink): a NEW
            # response carries the last word. GPT-Live has none: the directive reaches the model while it
            # speaks (it may have just started by itself, e.g. on a delegated tool's result), it cuts short
            # what it was saying and goes on with the last word, and nothing on the wire tells the two apart.
            before -= 1  # the model's turn under way carries it: said once the model falls quiet
        await call.link.create_response(instructions)
        await call.status.set(CallState.ENDING, step)
        call.tasks.spawn(self._hang_up_after_last_word(before, reason), "last-word")

    async def _hang_up_after_last_word(self, before: int, reason: str) -> None:
        call = self.call
        said = self.wait_for(lambda: self.responses_started > before and call.link.response_idle.is_set())
        if not await within(call.clock, said, call.options.response_wait_s):
            await call.event("last_word_lost", "the last response did not come; hanging up anyway")
        if call.playout is not None:
            remaining_s = call.playout.unplayed_ms() / 1000
            played = await call.playout.mark_end()
            if not await within(call.clock, played, remaining_s + call.options.goodbye_grace_s):
                await call.event("goodbye_mark_lost", "the last words were not confirmed as played; hanging up anyway")
        await call.hang_up(reason)
