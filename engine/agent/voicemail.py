"""A machine answered: stay silent through its greeting and beep, then leave the message or hang up.

A machine is recognised by what the model hears (its `answering_machine_detected`
tool), by a first utterance too long for a person's "hello" (engine.agent.answer_supervision)
or by a beep in the callee's audio (engine.agent.beep), which is listened for while
the call is young. The call then moves to VOICEMAIL: whatever the agent was saying
is cut, and replies the model starts by itself (its turn detection answers the end
of the greeting) are cancelled. What follows is the task's `voicemail` policy:

- `leave_message`: after the beep (or, when none comes, `beep_wait_s` after the
  greeting stopped) the agent says the task's message and hangs up once it has played;
- `hang_up`, `call_back_later`: the agent hangs up at once, without a word.

Every step is a call event (`voicemail`, `beep`, `voicemail_left`, `voicemail_hang_up`);
the report carries `answering_machine` and `voicemail_left`.
"""

from __future__ import annotations

import asyncio

from engine.agent.beep import BeepDetector
from engine.agent.call_watch import CallWatch
from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep
from engine.agent.task import MachinePolicy
from engine.clock import within

MESSAGE = (
    "You are speaking to an answering machine that is now recording. Leave this message, word for word, "
    'and nothing else: "{text}"'
)
LISTEN_S = 30.0  # how long into the call a beep is listened for outside VOICEMAIL
_WATCHED = (CallState.LISTENING, CallState.CONVERSING, CallState.VOICEMAIL)


class Voicemail:
    def __init__(self, call: LiveCall, watch: CallWatch) -> None:
        self._call = call
        self._watch = watch
        self._detector: BeepDetector | None = None
        self._beep_heard = False
        self._leaving = False
        self._no_beep: asyncio.Task[None] | None = None

    # --- cues -------------------------------------------------------------------------------

    async def callee_audio(self, audio: bytes) -> None:
        if not self._listening():
            return
        if self._detector is None:
            self._detector = BeepDetector.for_media(self._call.call.media.format)
        if self._detector.feed(audio):
            await self._beep(self._detector)

    def _listening(self) -> bool:
        call = self._call
        state = call.status.state
        if state not in _WATCHED or self._beep_heard:
            return False
        young = call.answered_at is not None and call.clock.monotonic() - call.answered_at < LISTEN_S
        return state is CallState.VOICEMAIL or young

    async def _beep(self, detector: BeepDetector) -> None:
        self._beep_heard = True
        hz, ms = detector.last_beep_hz or 0.0, detector.last_beep_ms
        await self._call.event("beep", f"a beep of {ms} ms at {hz:.0f} Hz", {"hz": round(hz), "ms": ms})
        if self._call.status.state is CallState.VOICEMAIL:
            self._after_greeting()
        else:
            await self.machine_answered("a beep")

    async def machine_answered(self, evidence: str) -> None:
        call = self._call
        call.records.answering_machine = True
        if call.status.state not in (CallState.LISTENING, CallState.CONVERSING):
            return  # already handled, or the call is ending
        policy = call.task.machine_policy
        step = CallStep(
            "voicemail", f"a machine answered ({evidence})", {"evidence": evidence, "policy": policy.value}
        )
        await call.status.set(CallState.VOICEMAIL, step)
        await call.event("answer_classified", "an answering machine answered", {"kind": "voicemail"})
        await self._silence_agent()
        if policy is not MachinePolicy.LEAVE_MESSAGE:
            call.records.end_reason = "answering machine"
            await call.event(
                "voicemail_hang_up", f"the agent hangs up without a message (voicemail: {policy.value})",
                {"policy": policy.value},
            )
            await call.hang_up("answering machine")
        elif self._beep_heard:
            self._after_greeting()

    # --- while the machine speaks ---------------------------------------------------------------

    async def response_started(self, response_id: str) -> None:
        """In VOICEMAIL the model must not answer the greeting: its own replies are cancelled."""
        link = self._call.link
        if self._call.status.state is CallState.VOICEMAIL and not self._leaving:
            link.cancelled.add(response_id)
            if link.session is not None:
                await link.session.cancel_response(response_id)

    async def speech_started(self) -> None:
        if self._no_beep is not None:
            self._no_beep.cancel()  # the greeting goes on

    async def speech_stopped(self) -> None:
        call = self._call
        if call.status.state is CallState.VOICEMAIL and not self._beep_heard and not self._leaving:
            if self._no_beep is not None:
                self._no_beep.cancel()
            self._no_beep = call.tasks.spawn(self._message_without_beep(), "voicemail-no-beep")

    async def _message_without_beep(self) -> None:
        await self._call.clock.sleep(self._call.options.beep_wait_s)
        await self._call.event(
            "voicemail_no_beep", f"no beep within {self._call.options.beep_wait_s:g} s of the greeting's end"
        )
        self._after_greeting()

    async def _silence_agent(self) -> None:
        call, link = self._call, self._call.link
        if link.active_response is not None:
            link.cancelled.add(link.active_response)
            if link.session is not None:
                await link.session.cancel_response(link.active_response)
        if call.playout is not None and call.playout.speaking:
            cut = await call.playout.interrupt()
            if cut is not None:
                link.cancelled.add(cut.response_id)
                await call.transcript.agent_ended(cut.item_id, call.clock.now(), truncated=True)

    # --- the message -------------------------------------------------------------------------------

    def _after_greeting(self) -> None:
        if not self._leaving and self._call.status.state is CallState.VOICEMAIL:
            self._leaving = True
            if self._no_beep is not None and self._no_beep is not asyncio.current_task():
                self._no_beep.cancel()
            self._call.tasks.spawn(self._leave_message(), "voicemail-message")

    async def _leave_message(self) -> None:
        call = self._call
        # A reply the model started to the greeting is being cancelled: let it end first.
        await within(call.clock, call.link.response_idle.wait(), call.options.response_wait_s)
        text = call.task.voicemail_text()
        call.records.voicemail_left = True
        call.records.end_reason = "voicemail message left"
        step = CallStep("voicemail_left", "the agent leaves the task's message on the machine", {"message": text})
        await self._watch.last_word(MESSAGE.format(text=text), "voicemail message left", step)
