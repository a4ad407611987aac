"""The call's limits in time.

- `max_call_s`: at this call length the agent wraps up politely (at the next quiet
  moment, at most `wrap_up_wait_s` later) and hangs up.
- `session_handover_s`: a Realtime session ends hard at 60 minutes. Before that a
  fresh model session is opened while the old one goes on, and at a quiet moment
  (nobody speaking, no response under way, no question to the owner open) it takes over with the conversation so far
  (`transcript.summary()`); the old one is closed. The callee hears no gap. Planned,
  so not counted as a reconnect. The end of the callee's turn is no such moment: the old
  session's answer to it arrives a little later (`ModelLink.answer_due`), and switching
  then would drop it with the old session's events.
"""

from __future__ import annotations

from engine.agent.call_watch import CallWatch
from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep
from engine.clock import within
from engine.ports.voice_model import VoiceModelUnavailable

WRAP_UP = (
    "The call has reached its time limit. Tell the callee politely that you have to end the call now, "
    "sum up in one sentence what was agreed, and say goodbye."
)
WRAP_UP_WAIT_S = 10.0  # at the cap, how long to wait for a quiet moment before wrapping up anyway


class CallLimits:
    def __init__(self, call: LiveCall, watch: CallWatch) -> None:
        self._call = call
        self._watch = watch
        self.handovers = 0

    async def cap(self) -> None:
        call = self._call
        if call.options.max_call_s is None:
            return
        await call.clock.sleep(call.options.max_call_s)
        if call.status.winding_down:
            return
        minutes = call.options.max_call_s / 60
        await call.event("call_limit", f"the call reached its limit of {minutes:g} min; the agent wraps up")
        if call.status.state is not CallState.CONVERSING:
            await call.hang_up("call length limit")
            return
        await within(call.clock, self._watch.wait_for(lambda: self._watch.quiet), WRAP_UP_WAIT_S)
        step = CallStep("call_limit_goodbye", "the agent says goodbye at the call's time limit")
        await self._watch.last_word(WRAP_UP, "call length limit", step)

    async def hand_over(self) -> None:
        call, watch = self._call, self._watch
        every = call.options.session_handover_s
        if every is None:
            return
        while not call.status.winding_down:
            await call.clock.sleep(every)
            try:
                spare = await call.link.open_spare()
            except VoiceModelUnavailable as exc:
                await call.event("voice_session_handover_failed", f"no fresh model session: {exc}")
                return  # the current one goes on; if it ends, the loop's reconnect takes over
            try:
                # not while anyone speaks or this session's answer to the callee is on its way, nor while a
                # tool's answer (the owner's) is awaited by this session
                await watch.wait_for(
                    lambda: (watch.quiet and not call.link.answer_due and not call.questions.asking)
                    or call.status.winding_down
                )
                if call.status.winding_down:
                    await spare.close()
                    return
            except BaseException:
                await spare.close()  # the call ended meanwhile (its tasks are cancelled): no session left open
                raise
            await call.link.switch_to(spare, call.transcript.summary())
            self.handovers += 1
            await call.event(
                "voice_session_handover", "a fresh model session took over the conversation at a quiet moment",
                {"after_s": every, "handovers": self.handovers},
            )
