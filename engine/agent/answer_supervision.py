"""Who speaks first once the call is answered.

People who answer a phone speak first ("Green Street Pharmacy, how can I help?").
So after the answer the call is LISTENING: the agent says nothing while the
callee speaks. When the callee's first words end (the model's `SpeechStopped`),
the model answers them by itself: its turn detection creates the response
(`create_response`), so the agent must not ask for one too; a note added on
answer tells the model to introduce itself in that reply. If the callee says
nothing for `listen_first_s`, the agent greets. A task may greet at once
(`AgentTask.greet_first`, or `listen_first_s` 0): the greeting is then requested
while the phone rings, as it always was.

A first utterance longer than `machine_greeting_s` without a pause is a
machine's greeting, not a person's "hello": the voicemail handler takes over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.agent.call_watch import CallWatch
from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep

LISTEN_FIRST = (
    "The call has just been answered. Let the person who answered speak first and do not talk over them. "
    'When they have spoken, reply to what they said and introduce yourself as in this greeting: "{greeting}"'
)


def greets_at_once(call: LiveCall) -> bool:
    return call.task.greet_first or call.options.listen_first_s <= 0


class ListenFirst:
    def __init__(self, call: LiveCall, watch: CallWatch, machine: Callable[[str], Awaitable[None]]) -> None:
        self._call = call
        self._watch = watch
        self._machine = machine
        self._greet_timer: asyncio.Task[None] | None = None
        self._long_greeting: asyncio.Task[None] | None = None
        self._speech_from: float | None = None

    async def start(self) -> None:
        call = self._call
        if greets_at_once(call):  # the greeting was requested while the phone rang
            await call.status.set(CallState.CONVERSING)
            return
        await call.link.add_context(LISTEN_FIRST.format(greeting=call.profile.greeting))
        step = CallStep("listening", "the agent listens for the callee's first words")
        await call.status.set(CallState.LISTENING, step)
        self._greet_timer = call.tasks.spawn(self._greet_after_silence(), "listen-first")

    async def _greet_after_silence(self) -> None:
        call = self._call
        await call.clock.sleep(call.options.listen_first_s)
        if call.status.state is not CallState.LISTENING or call.link.callee_speaking:
            return  # the callee's words decide
        await call.link.greet()
        waited = call.options.listen_first_s
        step = CallStep(
            "greeting", f"the callee said nothing for {waited:g} s; the agent greets", {"silent_s": waited}
        )
        await call.status.set(CallState.CONVERSING, step)
        await call.event("answer_classified", "nobody spoke after the answer", {"kind": "unknown"})

    async def speech_started(self) -> None:
        call = self._call
        if call.status.state is not CallState.LISTENING:
            return
        if self._greet_timer is not None:
            self._greet_timer.cancel()
        self._speech_from = call.clock.monotonic()
        if self._long_greeting is None:
            self._long_greeting = call.tasks.spawn(self._machine_if_long(), "long-greeting")

    async def _machine_if_long(self) -> None:
        call = self._call
        await call.clock.sleep(call.options.machine_greeting_s)
        if call.status.state is CallState.LISTENING and call.link.callee_speaking:
            await self._machine(f"a greeting of over {call.options.machine_greeting_s:g} s without a pause")

    async def speech_stopped(self) -> None:
        call = self._call
        if call.status.state is not CallState.LISTENING:
            return
        if self._long_greeting is not None:
            self._long_greeting.cancel()
            self._long_greeting = None
        spoke_ms = round((call.clock.monotonic() - (self._speech_from or call.clock.monotonic())) * 1000)
        step = CallStep(
            "callee_spoke_first", "the callee spoke first; the agent answers them", {"speech_ms": spoke_ms}
        )
        # The model's turn detection creates the reply by itself: no response.create here.
        await call.status.set(CallState.CONVERSING, step)
        await call.event("answer_classified", "a person answered", {"kind": "person", "speech_ms": spoke_ms})
