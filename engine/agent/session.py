"""How one call runs: an OutboundCall's media connected to a voice-model session.

The session is opened while the phone rings. After the answer the agent
listens first and greets only if the callee stays silent (a task that greets
at once has its greeting requested while the phone rings); the supervisors
(engine.agent.supervision) watch for that, dead air, the call's limits and
voicemail. `AgentCallSession` owns
the call's state (`CallStatus`, engine.agent.state) and composes the parts
that act on it: the model link (engine.agent.model_link), the event loop
(engine.agent.loop), the tools' call control and the owner-question host
(engine.agent.control). Helpers that must wait run as named tasks owned by
the call (`CallTasks`) and cancelled when it ends. `run()` returns the
`CallReport` the lifecycle reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from engine import metrics
from engine.agent.answer_supervision import greets_at_once
from engine.agent.call_tasks import CallTasks
from engine.agent.control import LiveCallControl, LiveQuestionHost
from engine.agent.inbox import Inbox
from engine.agent.intercept import SitDetector
from engine.agent.loop import CallLoop, Stop
from engine.agent.model_link import ModelLink
from engine.agent.options import AgentSessionOptions
from engine.agent.playout import Playout
from engine.agent.pricing import estimate_cost
from engine.agent.profile import AgentProfile
from engine.agent.questions import UserQuestions
from engine.agent.state import CallState, CallStatus, CallStep
from engine.agent.supervision import CallSupervision
from engine.agent.task import AgentTask
from engine.agent.tools import ToolContext, ToolRecords
from engine.agent.transcript import TranscriptLog
from engine.clock import Clock, SystemClock, within
from engine.ports.agent import CallMetrics, CallReport, ObjectiveResult, ToolCallRecord, TranscriptTurn
from engine.ports.call_record import CallRecorder
from engine.ports.owner_questions import UserInfoBroker
from engine.ports.telephony import AudioFormat, AudioReceived, MediaClosed, MediaEvent, OutboundCall
from engine.ports.voice_model import VoiceModel, VoiceModelUnavailable, VoiceSessionConfig

log = logging.getLogger(__name__)

AgentFailureHook = Callable[[OutboundCall], Awaitable[None]]
OWNER_CANCEL_GOODBYE = (
    "The person you are calling for has just cancelled this request. Say one short, polite goodbye "
    "sentence to end the call, and nothing else."
)


class AgentCallSession:
    """One outbound call driven by the voice model; `run()` returns its `CallReport`."""

    def __init__(
        self,
        call: OutboundCall,
        task: AgentTask,
        model: VoiceModel,
        *,
        media_format: AudioFormat,
        recorder: CallRecorder,
        broker: UserInfoBroker,
        options: AgentSessionOptions | None = None,
        clock: Clock | None = None,
        on_agent_failure: AgentFailureHook | None = None,
        detect_intercepts: bool = False,  # listen for the network's SIT tones in the first seconds
    ) -> None:
        self.call = call
        self.task = task
        self.media_format = media_format
        self.recorder = recorder
        self.options = options or AgentSessionOptions()
        self.clock = clock or SystemClock()
        self.on_agent_failure = on_agent_failure
        self.profile = AgentProfile.for_task(task, self.clock.now())
        self.metrics = CallMetrics()
        self.records = ToolRecords()
        self.tool_calls: list[ToolCallRecord] = []
        self.transcript = TranscriptLog(self.record_turn, expect_callee_text=bool(self.options.transcription_model))
        self.playout: Playout | None = None
        self.answered_at: float | None = None  # monotonic
        self.owner_holding = False  # the owner took the call over by voice (engine.agent.owner)
        self.status = CallStatus(call.call_id, self._record_event)
        self.tasks = CallTasks(call.call_id)
        self.inbox = Inbox()
        config = VoiceSessionConfig(
            instructions=self.profile.instructions,
            media_format=media_format,
            tools=self.profile.tool_specs,
            voice=self.options.voice,
            turn_detection=self.options.turn_detection,
            transcription_model=self.options.transcription_model,
        )
        self.link = ModelLink(model, config, self.profile.greeting_instructions, self.inbox, self.tasks, self.status)
        self.control = LiveCallControl(self)
        self.question_host = LiveQuestionHost(self)
        self.questions = UserQuestions(
            self.question_host, broker, task, call.call_id, self.records, self.clock, self.options
        )
        self.tool_context = ToolContext(task, self.control, self.records, self.clock.now, self.options.hitl_timeout_s)
        self.loop = CallLoop(self)
        self.supervision = CallSupervision(self)
        self.intercept_check = SitDetector.for_media(media_format) if detect_intercepts else None
        self.intercepted = ""  # why the call reached an intercept, once detected

    async def run(self) -> CallReport:
        opening = self.tasks.spawn(self.link.open(greet=greets_at_once(self)), "voice-open")
        try:  # every path, cancellation while ringing included, closes the model session
            answered = await self.call.answered()
            if not answered:
                await self.status.set(CallState.NOT_ANSWERED)
                return await self._finish()
            self.answered_at = self.clock.monotonic()
            answered_step = CallStep("answered", "the callee answered")
            await self.status.set(CallState.CONNECTING, answered_step)
            try:
                await opening
            except VoiceModelUnavailable as exc:
                await self.fail(f"voice model unavailable: {exc}")
                return await self._finish()
            media = self.call.media
            if media.format != self.media_format:
                await self.fail(f"media format {media.format} differs from the session's {self.media_format}")
                return await self._finish()
            self.playout = Playout(media, self.clock)
            await self.supervision.start()  # LISTENING, or CONVERSING for a task that greets at once
            deliver_to = getattr(media, "deliver_to", None)
            if deliver_to is not None:  # straight into the inbox, without a pump task (see MediaStream)
                deliver_to(self._on_media_event)
            else:
                self.tasks.spawn(self._pump_media(), "media-pump")
            await self.loop.run()
            return await self._finish()
        finally:
            # A cancel landing during the shutdown (the attempt releasing a session that is ending by
            # itself) must not cut the model session's close short: the shutdown runs to its end.
            closing = asyncio.create_task(self._shutdown(), name=f"agent-shutdown:{self.call.call_id}")
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                await closing
                raise

    async def _pump_media(self) -> None:
        async for event in self.call.media.events():
            self._on_media_event(event)
            if isinstance(event, MediaClosed):
                return

    def _on_media_event(self, event: MediaEvent) -> None:
        if isinstance(event, AudioReceived) and self._listening_for_intercept():
            self._check_intercept(event.audio)
        self.inbox.put_nowait(event)

    # --- an intercept (SIT tones) instead of a person -------------------------------------------

    def _listening_for_intercept(self) -> bool:
        check = self.intercept_check
        return check is not None and not check.detected and check.heard_ms < self.options.intercept_listen_s * 1000

    def _check_intercept(self, audio: bytes) -> None:
        assert self.intercept_check is not None
        if self.intercept_check.feed(audio):
            self.tasks.spawn(self._intercepted(), "intercept")

    async def _intercepted(self) -> None:
        """The network's intercept answered: the agent stops at once and hangs up; the number is dead."""
        at_s = self.intercept_check.heard_ms / 1000 if self.intercept_check else 0.0
        self.intercepted = "special information tones, the network's 'not in service' intercept"
        self.records.objective = ObjectiveResult(
            achieved=False, summary=f"Dead number: {self.intercepted}", wrong_number=True
        )
        await self.event("intercept", f"an intercept answered (SIT tones after {at_s:.1f} s); the agent hangs up",
                         {"after_s": at_s})
        link = self.link
        if link.active_response is not None and link.session is not None:
            link.cancelled.add(link.active_response)
            await link.session.cancel_response(link.active_response)
        if self.playout is not None and self.playout.speaking:
            await self.playout.interrupt()
        await self.hang_up("intercept: number not in service")

    # --- the moves that end a call -------------------------------------------------------------

    async def hang_up(self, reason: str) -> None:
        """The agent hangs up (after its goodbye, or when it failed)."""
        if not self.status.over:
            step = CallStep("hangup", f"the agent hung up ({reason})", {"reason": reason})
            await self.status.set(CallState.ENDED, step, hangup_by="agent")
            await self.call.hangup("normal")
        self._stop()

    async def callee_hung_up(self, reason: str) -> None:
        if not self.status.over:
            step = CallStep("hangup", f"the callee hung up ({reason})")
            await self.status.set(CallState.ENDED, step, hangup_by="callee")
        self._stop()

    async def fail(self, reason: str) -> None:
        """The agent cannot go on: apologise if a hook is given, then hang up. Once per call."""
        if not self.status.can_move_to(CallState.FAILED):
            log.warning("call %s: %s, in state %s; not failing again", self.call.call_id, reason, self.status.state)
            return
        await self.status.set(CallState.FAILED, CallStep("agent_failure", reason), failure=reason)
        if self.on_agent_failure is not None:
            try:
                await self.on_agent_failure(self.call)
            except Exception:  # noqa: BLE001 - the apology is best effort
                log.exception("agent failure hook failed")
        await self.hang_up("agent failure")

    async def end_for_owner(self, reason: str) -> None:
        """The task was cancelled: one short goodbye when the call is answered, then hang up.

        The goodbye and its playout are bounded by `options.cancel_goodbye_s` on the call's clock.
        """
        if self.status.over or self.status.winding_down:
            return
        if self.status.state is not CallState.CONVERSING:  # ringing or connecting: nothing to say yet
            self.tasks.spawn(self.hang_up(reason), "owner-cancel")
            return
        self.tasks.spawn(self._farewell(reason), "owner-cancel")

    async def _farewell(self, reason: str) -> None:
        if not await within(self.clock, self._say_goodbye(reason), self.options.cancel_goodbye_s):
            await self.event("cancel_goodbye_cut", "the goodbye did not finish in time; hanging up")
        await self.hang_up(reason)

    async def _say_goodbye(self, reason: str) -> None:
        link = self.link
        if link.active_response is not None and link.session is not None:
            link.cancelled.add(link.active_response)  # what the agent was saying is moot now
            await link.session.cancel_response(link.active_response)
            if self.playout is not None and self.playout.speaking:
                await self.playout.interrupt()
            await link.response_idle.wait()
        await link.create_response(OWNER_CANCEL_GOODBYE)
        link.response_idle.clear()  # set again when the goodbye's response is done
        step = CallStep("cancelled", f"the task was cancelled ({reason}); the agent says goodbye")
        await self.status.set(CallState.ENDING, step)
        await link.response_idle.wait()
        if self.playout is not None:
            await (await self.playout.mark_end())

    def _stop(self) -> None:
        self.inbox.put_nowait(Stop())

    async def _finish(self) -> CallReport:
        await self.transcript.close(self.clock.now())
        self.metrics.estimated_cost_usd = estimate_cost(
            self.metrics.usage, self.options.model_name, self.options.prices
        )
        records, answered = self.records, self.status.answered
        return CallReport(
            answered=answered,
            transcript=tuple(sorted(self.transcript.turns, key=lambda turn: turn.started_at)),
            transcript_stored=True,  # the recorder wrote every turn as it ended
            objective=records.objective,
            callback=records.callback,
            pending_question=records.pending_question,
            user_answers=tuple(records.user_answers),
            answering_machine=records.answering_machine,
            voicemail_left=records.voicemail_left,
            dtmf_sent=tuple(records.dtmf_sent),
            end_reason=records.end_reason,
            no_response=self.supervision.no_response,
            intercept=self.intercepted,
            agent_failure=bool(self.status.failure),
            failure_reason=self.status.failure,
            hangup_by=self.status.hangup_by if answered else None,
            tool_calls=tuple(self.tool_calls),
            metrics=self.metrics,
        )

    async def _shutdown(self) -> None:
        hang_up = self.status.answered and not self.status.hung_up
        try:
            if self.status.state is CallState.RINGING:
                await self.status.set(CallState.NOT_ANSWERED)  # cancelled while the phone rang
            elif not self.status.over:
                await self.status.set(CallState.ENDED)  # torn down: nobody hung up
        finally:
            await self.tasks.cancel_all()
            await self._close_link()
        if hang_up:
            try:
                await self.call.hangup("normal")
            except Exception:  # noqa: BLE001 - the call may be gone already
                log.debug("hangup at shutdown failed", exc_info=True)

    async def _close_link(self) -> None:
        try:
            await self.link.close()
        except Exception:  # noqa: BLE001 - the socket may be broken already
            log.warning("call %s: closing the voice-model session failed", self.call.call_id, exc_info=True)

    # --- the call's record ---------------------------------------------------------------------

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        log.info("call %s: %s", self.call.call_id, message)
        await self._record_event(kind, message, data)

    async def _record_event(self, kind: str, message: str, data: dict[str, Any] | None) -> None:
        try:
            await self.recorder.call_event(self.call.call_id, kind, message, data)
        except Exception:  # noqa: BLE001 - the record never ends the call
            metrics.AGENT_RECORD_FAILURES.inc()
            log.exception("call %s: recording the step %r failed; the call goes on", self.call.call_id, kind)

    async def record_turn(self, turn: TranscriptTurn) -> None:
        """Store one turn as it ends (the model's conversation, the owner's words, notes); never raises."""
        try:
            await self.recorder.transcript_turn(self.call.call_id, turn)
        except Exception:  # noqa: BLE001 - the record never ends the call
            metrics.AGENT_RECORD_FAILURES.inc()
            log.exception("call %s: recording a %s turn failed; the call goes on", self.call.call_id, turn.speaker)
