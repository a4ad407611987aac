"""The call's supervisors, behind one `Supervisor` (engine.agent.live_call) the loop informs.

- who speaks first after the answer (engine.agent.answer_supervision), and whether it is a phone menu
  (engine.agent.menu_detection),
- a machine's greeting, its beep, and the message (engine.agent.voicemail),
- dead air and "no response" (engine.agent.dead_air),
- the call's length and the model session's handover (engine.agent.limits).

`start()` runs once the call is answered and its media is ready; the timers it
starts are call tasks, cancelled when the call ends.
"""

from __future__ import annotations

from engine.agent.answer_supervision import ListenFirst
from engine.agent.call_watch import CallWatch
from engine.agent.dead_air import DeadAir
from engine.agent.limits import CallLimits
from engine.agent.live_call import LiveCall
from engine.agent.menu_detection import MenuDetection
from engine.agent.voicemail import Voicemail


class CallSupervision:
    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self.watch = CallWatch(call)
        self.voicemail = Voicemail(call, self.watch)
        self.listen_first = ListenFirst(call, self.watch, self.voicemail.machine_answered)
        self.dead_air = DeadAir(call, self.watch)
        self.limits = CallLimits(call, self.watch)
        self.menu = MenuDetection(call)

    @property
    def no_response(self) -> bool:
        return self.dead_air.no_response

    async def start(self) -> None:
        tasks = self._call.tasks
        self.watch.touch()
        await self.listen_first.start()
        tasks.spawn(self.dead_air.run(), "dead-air")
        tasks.spawn(self.limits.cap(), "call-limit")
        tasks.spawn(self.limits.hand_over(), "session-handover")

    # --- what the loop tells --------------------------------------------------------------------

    def touch(self) -> None:
        self.watch.touch()

    async def speech_started(self) -> None:
        self.watch.touch()
        self.dead_air.callee_spoke()
        await self.listen_first.speech_started()
        await self.voicemail.speech_started()

    async def speech_stopped(self) -> None:
        self.watch.touch()
        await self.listen_first.speech_stopped()
        await self.voicemail.speech_stopped()

    async def response_started(self, response_id: str) -> None:
        self.watch.response_started()
        await self.voicemail.response_started(response_id)

    async def response_done(self) -> None:
        self.watch.touch()

    async def callee_words(self, text: str) -> None:
        await self.menu.callee_words(text)

    async def callee_audio(self, audio: bytes) -> None:
        await self.voicemail.callee_audio(audio)

    async def machine_answered(self, evidence: str) -> None:
        await self.voicemail.machine_answered(evidence)
