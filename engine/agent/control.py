"""What the tools and the owner's questions may do to the live call.

`LiveCallControl` is the tools' `CallControl` (engine.agent.tools): end the
call after the goodbye has played, press keys, ask the owner. `LiveQuestionHost`
is what a question to the owner needs (engine.agent.questions). Both act
through the call session that owns the state.
"""

from __future__ import annotations

from typing import Any

from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep
from engine.agent.tools import ToolError
from engine.clock import within

# A line that cuts every goodbye short (on a real trunk: the echo of the agent's own voice, ~100 ms
# late) would keep the call open until OPENDEEP_MAX_CALL_MINUTES: after this many resumed goodbyes
# the next interrupted one hangs up anyway.
MAX_GOODBYE_RESUMES = 2


class LiveCallControl:
    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self._goodbye_resumes = 0

    async def end_call(self, reason: str) -> None:
        if self._call.status.state is CallState.CONVERSING:  # once, and only while the call goes on
            await self._call.status.set(CallState.ENDING)
            self._call.tasks.spawn(self._hang_up_after_goodbye(reason), "end-call")

    async def send_dtmf(self, digits: str) -> None:
        """The phone system's refusal is the model's to handle (a tool error); the call goes on."""
        try:
            await self._call.call.send_dtmf(digits)
        except Exception as exc:  # noqa: BLE001 - any PBX error, reported to the model
            await self._call.event("dtmf_failed", f"the keys {digits} could not be sent: {exc}", {"digits": digits})
            raise ToolError(f"the phone system could not send the keys {digits}: {exc}") from exc

    def ask_user(self, question: str, timeout_s: float) -> None:
        questions, tasks = self._call.questions, self._call.tasks
        questions.asking = True
        asking = tasks.spawn(questions.ask(question, timeout_s), "ask-user")
        reassuring = tasks.spawn(questions.reassure(), "ask-user-reassure")
        asking.add_done_callback(lambda _: reassuring.cancel())

    @property
    def asking_user(self) -> bool:
        return self._call.questions.asking

    async def machine_answered(self, evidence: str) -> None:
        await self._call.supervision.machine_answered(evidence)

    async def _hang_up_after_goodbye(self, reason: str) -> None:
        call = self._call
        barge_ins = call.metrics.barge_ins
        await within(call.clock, call.link.response_idle.wait(), call.options.response_wait_s)
        heard = True
        if call.playout is not None:
            remaining_s = call.playout.unplayed_ms() / 1000
            played = await call.playout.mark_end()
            if await within(call.clock, played, remaining_s + call.options.goodbye_grace_s):
                heard = played.result()
            else:
                await call.event("goodbye_mark_lost", "the goodbye was not confirmed as played; hanging up anyway")
        interrupted = not heard or call.metrics.barge_ins > barge_ins
        if interrupted and not call.records.answering_machine:  # a machine's beep is no reason to stay
            if self._goodbye_resumes < MAX_GOODBYE_RESUMES:
                self._goodbye_resumes += 1
                await self._resume_after_goodbye(reason)
                return
            await call.event(
                "goodbye_interrupted_again",
                f"the goodbye was cut short {self._goodbye_resumes + 1} times; hanging up anyway",
                {"end_reason": reason},
            )
        await call.hang_up(reason)

    async def _resume_after_goodbye(self, reason: str) -> None:
        """The callee cut the goodbye short: listen to them instead of hanging up."""
        call = self._call
        if call.status.state is CallState.ENDING:
            call.records.end_reason = None
            step = CallStep(
                "goodbye_interrupted",
                "the callee interrupted the goodbye; the conversation goes on",
                {"end_reason": reason},
            )
            await call.status.set(CallState.CONVERSING, step)


class LiveQuestionHost:
    def __init__(self, call: LiveCall) -> None:
        self._call = call

    @property
    def call_over(self) -> bool:
        return self._call.status.over or self._call.link.session is None

    @property
    def line_quiet(self) -> bool:
        call = self._call
        speaking = call.playout is not None and call.playout.speaking
        return not (call.link.callee_speaking or speaking or call.link.active_response or call.status.winding_down)

    async def add_context(self, text: str) -> None:
        await self._call.link.add_context(text)

    async def create_response(self, instructions: str | None = None) -> None:
        await self._call.link.create_response(instructions)

    async def end_call(self, reason: str) -> None:
        await self._call.control.end_call(reason)

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        await self._call.event(kind, message, data)
