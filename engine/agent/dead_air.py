"""Dead air: nobody says anything.

While the call is CONVERSING, the agent is not speaking, no question to the
owner is open and the owner has not taken the call over by voice, `dead_air_s` of silence make the agent check in once ("Hello, are
you still there?"). If the callee stays silent for another `dead_air_s`, the agent
says a short goodbye, hangs up, and the attempt ends as "no response" (the report's
`no_response`; the analyzer retries per policy). Any word from the callee resets it.
"""

from __future__ import annotations

from engine.agent.call_watch import CallWatch
from engine.agent.live_call import LiveCall
from engine.agent.state import CallState, CallStep

CHECK_IN = 'Nobody has spoken for a while. Ask once, briefly and kindly: "Hello, are you still there?"'
GOODBYE = (
    "The callee has not answered for a while. Say one short, polite goodbye (that you will try again "
    "another time) and nothing else."
)


class DeadAir:
    def __init__(self, call: LiveCall, watch: CallWatch) -> None:
        self._call = call
        self._watch = watch
        self._checked_in = False
        self.no_response = False

    async def run(self) -> None:
        call, watch = self._call, self._watch
        limit = call.options.dead_air_s
        if limit is None:
            return
        while not call.status.winding_down:
            wait = limit - watch.silent_for()
            if wait > 1e-6:
                await call.clock.sleep(wait)
                continue
            if (call.status.state is not CallState.CONVERSING or not watch.quiet or call.questions.asking
                    or call.owner_holding):
                watch.touch()  # not dead air: count again from now
                continue
            if not self._checked_in:
                await self._check_in(limit)
            else:
                await self._give_up(limit)
                return

    async def _check_in(self, limit: float) -> None:
        self._checked_in = True
        await self._call.event(
            "dead_air_check_in", f"nobody spoke for {limit:g} s; the agent asks whether the callee is still there",
            {"silent_s": limit},
        )
        await self._call.link.create_response(CHECK_IN)
        self._watch.touch()

    async def _give_up(self, limit: float) -> None:
        call = self._call
        self.no_response = True
        call.records.end_reason = "no response"
        step = CallStep(
            "no_response", f"no answer for {limit:g} s after the check-in; the agent says goodbye and hangs up",
            {"silent_s": limit},
        )
        await self._watch.last_word(GOODBYE, "no response", step)

    def callee_spoke(self) -> None:
        self._checked_in = False
