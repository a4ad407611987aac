"""How one call runs: an OutboundCall's media connected to a voice-model session.

The session is opened while the phone rings and the greeting requested at
once, so its audio is waiting when the callee answers. `AgentCallSession` owns
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

from engine.agent.call_tasks import CallTasks
from engine.agent.control import LiveCallControl, LiveQuestionHost
from engine.agent.loop import CallLoop, Stop
from engine.agent.model_link import ModelLink
from engine.agent.options import AgentSessionOptions
from engine.agent.playout import Playout
from engine.agent.pricing import estimate_cost
from engine.agent.profile import AgentProfile
from engine.agent.questions import UserQuestions
from engine.agent.state import CallState, CallStatus, CallStep
from engine.agent.task import AgentTask
from engine.agent.tools import ToolContext, ToolRecords
from engine.agent.transcript import TranscriptLog
from engine.clock import Clock, SystemClock
from engine.ports.agent import CallMetrics, CallReport, ToolCallRecord, TranscriptTurn
from engine.ports.call_record import CallRecorder
from engine.ports.owner_questions import UserInfoBroker
from engine.ports.telephony import AudioFormat, MediaClosed, OutboundCall
from engine.ports.voice_model import VoiceModel, VoiceModelUnavailable, VoiceSessionConfig

log = logging.getLogger(__name__)

AgentFailureHook = Callable[[OutboundCall], Awaitable[None]]


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
        self.transcript = TranscriptLog(self._record_turn, expect_callee_text=bool(self.options.transcription_model))
        self.playout: Playout | None = None
        self.answered_at: float | None = None  # monotonic
        self.status = CallStatus(call.call_id, self._record_event)
        self.tasks = CallTasks(call.call_id)
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
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

    async def run(self) -> CallReport:
        opening = self.tasks.spawn(self.link.open(), "voice-open")
        answered = await self.call.answered()
        try:
            if not answered:
                await self.status.set(CallState.NOT_ANSWERED)
                return await self._finish()
            self.answered_at = self.clock.monotonic()
            answered_step = CallStep("answered", "the callee answered; the agent starts speaking")
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
            await self.status.set(CallState.CONVERSING)
            self.tasks.spawn(self._pump_media(), "media-pump")
            await self.loop.run()
            return await self._finish()
        finally:
            await self._shutdown()

    async def _pump_media(self) -> None:
        async for event in self.call.media.events():
            self.inbox.put_nowait(event)
            if isinstance(event, MediaClosed):
                return

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
            agent_failure=bool(self.status.failure),
            failure_reason=self.status.failure,
            hangup_by=self.status.hangup_by if answered else None,
            tool_calls=tuple(self.tool_calls),
            metrics=self.metrics,
        )

    async def _shutdown(self) -> None:
        hang_up = self.status.answered and not self.status.hung_up
        if not self.status.over:
            await self.status.set(CallState.ENDED)  # torn down: nobody hung up
        await self.tasks.cancel_all()
        await self.link.close()
        if hang_up:
            try:
                await self.call.hangup("normal")
            except Exception:  # noqa: BLE001 - the call may be gone already
                log.debug("hangup at shutdown failed", exc_info=True)

    # --- the call's record ---------------------------------------------------------------------

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        log.info("call %s: %s", self.call.call_id, message)
        await self._record_event(kind, message, data)

    async def _record_event(self, kind: str, message: str, data: dict[str, Any] | None) -> None:
        await self.recorder.call_event(self.call.call_id, kind, message, data)

    async def _record_turn(self, turn: TranscriptTurn) -> None:
        await self.recorder.transcript_turn(self.call.call_id, turn)
