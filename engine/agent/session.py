"""How one call runs: an OutboundCall's media connected to a voice-model session.

The session is opened while the phone rings and the greeting requested at
once, so its audio is waiting when the callee answers. One loop handles every
voice and media event in order (`_inbox`); helpers that must wait (hang-up
after the goodbye, asking the user, rate-limit retries) run as named tasks
owned by this object and cancelled when the call ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from engine.agent.options import AgentSessionOptions
from engine.agent.playout import Playout
from engine.agent.ports import CallRecorder, UserInfoBroker
from engine.agent.pricing import estimate_cost
from engine.agent.profile import AgentProfile
from engine.agent.questions import UserQuestions
from engine.agent.records import AgentCallResult, CallMetrics, ToolCallRecord, ToolRecords
from engine.agent.task import AgentTask
from engine.agent.tools import ToolContext, invoke_tool
from engine.agent.transcript import TranscriptLog
from engine.clock import Clock, SystemClock, within
from engine.ports.telephony import AudioFormat, AudioReceived, DtmfReceived, MarkPlayed, MediaClosed, OutboundCall
from engine.ports.voice_model import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CalleeTranscript,
    RateLimitsUpdated,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    VoiceError,
    VoiceModel,
    VoiceModelUnavailable,
    VoiceSession,
    VoiceSessionConfig,
)

log = logging.getLogger(__name__)

RATE_LIMIT_CODES = {"rate_limit_exceeded", "requests_per_min_limit_exceeded", "tokens_per_min_limit_exceeded"}
AgentFailureHook = Callable[[OutboundCall], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _FromVoice:
    generation: int  # which model session sent it; events of a replaced session are stale
    event: Any


class _Stop:
    pass


class AgentCallSession:
    """One outbound call driven by the voice model; `run()` returns its `AgentCallResult`.

    Tools reach the call through it (`CallControl`), as do owner questions (`QuestionHost`).
    """

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
        self.model = model
        self.media_format = media_format
        self.recorder = recorder
        self.broker = broker
        self.options = options or AgentSessionOptions()
        self.clock = clock or SystemClock()
        self.on_agent_failure = on_agent_failure
        self.profile = AgentProfile.for_task(task)
        self.metrics = CallMetrics()
        self.records = ToolRecords()
        self.tool_calls: list[ToolCallRecord] = []
        self.transcript = TranscriptLog(self._record_turn, expect_callee_text=bool(self.options.transcription_model))
        self.playout: Playout | None = None
        self._session: VoiceSession | None = None
        self._generation = 0
        self._inbox: asyncio.Queue[_FromVoice | Any] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done = False
        self._ending = False
        self._failure = ""
        self._hangup_by: str | None = None
        self._answered_at: float | None = None
        self._active_response: str | None = None
        self._response_idle = asyncio.Event()
        self._response_idle.set()
        self._cancelled: set[str] = set()
        self._responses_heard: set[str] = set()
        self._callee_speaking = False
        self._awaiting_reply_since: float | None = None
        self._last_create: str | None = None
        self._rate_limit_retries = 0
        self._keys_reply: asyncio.Task[None] | None = None
        self._tool_ctx = ToolContext(task, self, self.records, self.clock.now, self.options.hitl_timeout_s)
        self._questions = UserQuestions(self, broker, task, call.call_id, self.records, self.clock, self.options)

    # --- running the call ------------------------------------------------------------------

    async def run(self) -> AgentCallResult:
        opening = self._spawn(self._open_session(resume=False), "voice-open")
        answered = await self.call.answered()
        try:
            if not answered:
                return await self._finish(answered=False)
            self._answered_at = self.clock.monotonic()
            await self._event("answered", "the callee answered; the agent starts speaking")
            try:
                await opening
            except VoiceModelUnavailable as exc:
                await self._fail(f"voice model unavailable: {exc}")
                return await self._finish(answered=True)
            media = self.call.media
            if media.format != self.media_format:
                await self._fail(f"media format {media.format} differs from the session's {self.media_format}")
                return await self._finish(answered=True)
            self.playout = Playout(media, self.clock)
            self._spawn(self._pump_media(), "media-pump")
            await self._loop()
            return await self._finish(answered=True)
        finally:
            await self._shutdown()

    async def _loop(self) -> None:
        while not self._done:
            item = await self._inbox.get()
            if isinstance(item, _Stop):
                break
            if isinstance(item, _FromVoice):
                if item.generation == self._generation:
                    await _VOICE_HANDLERS[type(item.event)](self, item.event)
            else:
                await _MEDIA_HANDLERS[type(item)](self, item)

    def _stop(self) -> None:
        self._done = True
        self._inbox.put_nowait(_Stop())

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{name}:{self.call.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _open_session(self, *, resume: bool) -> None:
        config = VoiceSessionConfig(
            instructions=self.profile.instructions,
            media_format=self.media_format,
            tools=self.profile.tool_specs,
            voice=self.options.voice,
            turn_detection=self.options.turn_detection,
            transcription_model=self.options.transcription_model,
        )
        session = await self.model.open(config)
        self._generation += 1
        self._session = session
        self._spawn(self._pump_voice(session, self._generation), f"voice-pump-{self._generation}")
        if resume:
            await session.add_context(
                "The phone connection to you dropped for a moment; this is the conversation so far:\n"
                f"{self.transcript.summary()}\n"
                "Apologise in one short sentence for the interruption and continue where you left off."
            )
            await self._create_response()
        else:
            await self._create_response(self.profile.greeting_instructions)

    async def _pump_voice(self, session: VoiceSession, generation: int) -> None:
        async for event in session.events():
            self._inbox.put_nowait(_FromVoice(generation, event))

    async def _pump_media(self) -> None:
        assert self.playout is not None
        async for event in self.call.media.events():
            self._inbox.put_nowait(event)
            if isinstance(event, MediaClosed):
                return

    async def _finish(self, *, answered: bool) -> AgentCallResult:
        await self.transcript.close(self.clock.now())
        self.metrics.estimated_cost_usd = estimate_cost(
            self.metrics.usage, self.options.model_name, self.options.prices
        )
        if answered:
            await self.recorder.final_metrics(self.call.call_id, self.metrics)
        return AgentCallResult(
            call_id=self.call.call_id,
            answered=answered,
            transcript=sorted(self.transcript.turns, key=lambda turn: turn.started_at),
            tools=self.records,
            tool_calls=list(self.tool_calls),
            metrics=self.metrics,
            agent_failure=bool(self._failure),
            failure_reason=self._failure,
            hangup_by=self._hangup_by if answered else None,
        )

    async def _shutdown(self) -> None:
        self._done = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._answered_at is not None and self._hangup_by is None:
            try:
                await self.call.hangup("normal")
            except Exception:  # noqa: BLE001 - the call may be gone already
                log.debug("hangup at shutdown failed", exc_info=True)

    # --- voice events ------------------------------------------------------------------------

    async def _on_session_ready(self, event: SessionReady) -> None:
        log.debug("call %s: voice session ready", self.call.call_id)

    async def _on_response_started(self, event: ResponseStarted) -> None:
        self._active_response = event.response_id
        self._response_idle.clear()

    async def _on_audio_delta(self, event: AudioDelta) -> None:
        if event.response_id in self._cancelled or self.playout is None or not event.audio:
            return
        now = self.clock.monotonic()
        if self.metrics.time_to_first_audio_ms is None and self._answered_at is not None:
            self.metrics.time_to_first_audio_ms = (now - self._answered_at) * 1000
        if event.response_id not in self._responses_heard:
            self._responses_heard.add(event.response_id)
            if self._awaiting_reply_since is not None:
                self.metrics.turn_latencies_ms.append((now - self._awaiting_reply_since) * 1000)
                self._awaiting_reply_since = None
        await self.transcript.agent_started(event.item_id, self.clock.now())
        await self.playout.send(event.response_id, event.item_id, event.audio, event.model_ms)

    async def _on_audio_done(self, event: AudioDone) -> None:
        if event.response_id in self._cancelled or self.playout is None:
            return
        await self.playout.finish(event.item_id)
        await self._end_played_turns()

    async def _on_agent_transcript(self, event: AgentTranscript) -> None:
        await self.transcript.agent_text(event.item_id, event.text, self.clock.now())

    async def _on_callee_transcript(self, event: CalleeTranscript) -> None:
        await self.transcript.callee_text(event.item_id, event.text, self.clock.now())

    async def _on_speech_started(self, event: SpeechStarted) -> None:
        self._callee_speaking = True
        await self.transcript.callee_started(event.item_id, self.clock.now())
        if self._active_response is not None:
            # The server cancels it (interrupt_response) or we do; either way its audio is stale.
            self._cancelled.add(self._active_response)
            if not self.options.turn_detection.interrupt_response and self._session is not None:
                await self._session.cancel_response()
        if self.playout is None or not self.playout.speaking:
            return
        cut = await self.playout.interrupt()
        if cut is None:
            return
        self._cancelled.add(cut.response_id)
        self.metrics.barge_ins += 1
        item = self.playout.item(cut.item_id)
        fully_heard = item is not None and item.complete and cut.played_ms >= int(cut.model_ms)
        if cut.played_ms > 0 and not fully_heard and self._session is not None:
            await self._session.truncate(cut.item_id, cut.played_ms)
        await self.transcript.agent_ended(cut.item_id, self.clock.now(), truncated=not fully_heard)
        await self._event(
            "barge_in",
            f"the callee interrupted the agent after {cut.played_ms} ms",
            {"item_id": cut.item_id, "audio_end_ms": cut.played_ms},
        )

    async def _on_speech_stopped(self, event: SpeechStopped) -> None:
        self._callee_speaking = False
        self._awaiting_reply_since = self.clock.monotonic()
        await self.transcript.callee_stopped(event.item_id, self.clock.now())

    async def _on_tool_call(self, event: ToolCall) -> None:
        self.metrics.tool_calls += 1
        result = await invoke_tool(self.profile.tools, event.name, event.arguments, self._tool_ctx)
        self.tool_calls.append(ToolCallRecord(event.name, event.arguments, result.output, result.ok, self.clock.now()))
        message = f"{event.name} {'done' if result.ok else 'refused: ' + result.error}"
        await self._event(
            "tool_call", message, {"name": event.name, "arguments": event.arguments, "output": result.output}
        )
        if self._ending or self._session is None:
            return
        await self._session.send_tool_result(event.call_id, result.output)
        if result.respond:
            await self._create_response()

    async def _on_response_done(self, event: ResponseDone) -> None:
        if event.usage is not None:
            self.metrics.usage = self.metrics.usage + event.usage
        if event.response_id == self._active_response:
            self._active_response = None
        self._response_idle.set()
        if event.status == "failed" and "rate_limit" in event.reason:
            await self._rate_limited(event.reason)

    async def _on_rate_limits(self, event: RateLimitsUpdated) -> None:
        exhausted = [limit.name for limit in event.limits if limit.remaining <= 0]
        if exhausted:
            await self._event(
                "rate_limit",
                f"rate limit exhausted: {', '.join(exhausted)}",
                {"limits": [(lim.name, lim.remaining, lim.reset_seconds) for lim in event.limits]},
            )

    async def _on_voice_error(self, event: VoiceError) -> None:
        await self._event("voice_error", f"{event.code}: {event.message}", {"code": event.code, "fatal": event.fatal})
        if event.code in RATE_LIMIT_CODES:
            await self._rate_limited(event.code)
        elif event.fatal:
            await self._recover(f"fatal model error {event.code}")

    async def _on_session_closed(self, event: SessionClosed) -> None:
        if event.expected or self._done or self._ending:
            return  # nothing to resume when the goodbye is already under way
        await self._recover(f"voice session closed ({event.code} {event.reason})".strip())

    # --- media events ------------------------------------------------------------------------

    async def _on_callee_audio(self, event: AudioReceived) -> None:
        if self._session is not None:
            await self._session.push_audio(event.audio)

    async def _on_dtmf(self, event: DtmfReceived) -> None:
        await self._event("dtmf_received", f"the callee pressed {event.digit}", {"digit": event.digit})
        if self._session is not None:
            await self._session.add_context(f"The callee pressed the key '{event.digit}' on their phone keypad.")
        if self._keys_reply is not None:
            self._keys_reply.cancel()
        self._keys_reply = self._spawn(self._reply_after_keys(), "keys-reply")

    async def _reply_after_keys(self) -> None:
        """Keys alone trigger no voice activity: once they stop, react unless the agent spoke meanwhile."""
        heard = len(self._responses_heard)
        while not self._ending:
            await self.clock.sleep(self.options.dtmf_reply_after_s)
            if len(self._responses_heard) != heard:
                return  # a reply started after the keys: it already took them into account
            if self.line_quiet and not self._questions.asking:
                await self._create_response()
                return

    async def _on_mark_played(self, event: MarkPlayed) -> None:
        assert self.playout is not None
        await self.playout.on_mark_played(event.name)
        await self._end_played_turns()

    async def _end_played_turns(self) -> None:
        assert self.playout is not None
        for item_id in self.playout.finished_items():
            await self.transcript.agent_ended(item_id, self.clock.now())

    async def _on_media_closed(self, event: MediaClosed) -> None:
        if self._hangup_by is None:
            self._hangup_by = "callee"
            await self._event("hangup", f"the callee hung up ({event.reason or 'media closed'})")
        self._stop()

    # --- CallControl, for the tools ----------------------------------------------------------

    async def end_call(self, reason: str) -> None:
        if not self._ending:
            self._ending = True
            self._spawn(self._hang_up_after_goodbye(reason), "end-call")

    async def send_dtmf(self, digits: str) -> None:
        await self.call.send_dtmf(digits)

    def ask_user(self, question: str, timeout_s: float) -> None:
        self._questions.asking = True
        asking = self._spawn(self._questions.ask(question, timeout_s), "ask-user")
        reassuring = self._spawn(self._questions.reassure(), "ask-user-reassure")
        asking.add_done_callback(lambda _: reassuring.cancel())

    @property
    def asking_user(self) -> bool:
        return self._questions.asking

    # --- QuestionHost, for user questions -----------------------------------------------------

    @property
    def call_over(self) -> bool:
        return self._done or self._session is None

    @property
    def line_quiet(self) -> bool:
        speaking = self.playout is not None and self.playout.speaking
        return not (self._callee_speaking or speaking or self._active_response or self._ending)

    async def add_context(self, text: str) -> None:
        if self._session is not None:
            await self._session.add_context(text)

    async def create_response(self, instructions: str | None = None) -> None:
        await self._create_response(instructions)

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        await self._event(kind, message, data)

    # --- helpers that wait ---------------------------------------------------------------------

    async def _hang_up_after_goodbye(self, reason: str) -> None:
        await within(self.clock, self._response_idle.wait(), self.options.response_wait_s)
        if self.playout is not None:
            remaining_s = self.playout.unplayed_ms() / 1000
            played = await self.playout.mark_end()
            if not await within(self.clock, played, remaining_s + self.options.goodbye_grace_s):
                await self._event("goodbye_mark_lost", "the goodbye was not confirmed as played; hanging up anyway")
        await self._hang_up(reason)

    async def _hang_up(self, reason: str) -> None:
        if self._hangup_by is None:
            self._hangup_by = "agent"
            await self._event("hangup", f"the agent hung up ({reason})", {"reason": reason})
            await self.call.hangup("normal")
        self._stop()

    async def _rate_limited(self, code: str) -> None:
        self.metrics.rate_limit_hits += 1
        if self._rate_limit_retries >= self.options.rate_limit_retries:
            await self._fail(f"rate limited ({code})")
            return
        delay = self.options.rate_limit_backoff_s * 2**self._rate_limit_retries
        self._rate_limit_retries += 1
        await self._event(
            "rate_limit", f"rate limited ({code}); retrying in {delay:g} s", {"code": code, "delay_s": delay}
        )
        self._spawn(self._retry_response(delay), "rate-limit-retry")

    async def _retry_response(self, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        await self._create_response(self._last_create)

    async def _create_response(self, instructions: str | None = None) -> None:
        if self._session is None or self._ending:
            return
        if self._callee_speaking and instructions is None:
            return  # the model answers by itself once the callee stops (VAD create_response)
        self._last_create = instructions
        await self._session.create_response(instructions)

    async def _recover(self, reason: str) -> None:
        """One reconnect per call, carrying the conversation so far; then give up."""
        await self._event("voice_session_lost", reason)
        if self.metrics.reconnects >= 1:
            await self._fail(f"voice session lost again: {reason}")
            return
        self.metrics.reconnects += 1
        if self._session is not None:
            await self._session.close()
        self._active_response, self._callee_speaking = None, False
        self._response_idle.set()
        try:
            await self._open_session(resume=True)
        except VoiceModelUnavailable as exc:
            await self._fail(f"reconnect failed: {exc}")
            return
        await self._event("voice_session_resumed", "a new voice session carries on the conversation")

    async def _fail(self, reason: str) -> None:
        if self._failure:
            return
        self._failure = reason
        await self._event("agent_failure", reason)
        if self.on_agent_failure is not None:
            try:
                await self.on_agent_failure(self.call)
            except Exception:  # noqa: BLE001 - the apology is best effort
                log.exception("agent failure hook failed")
        await self._hang_up("agent failure")

    async def _event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        log.info("call %s: %s", self.call.call_id, message)
        await self.recorder.call_event(self.call.call_id, kind, message, data)

    async def _record_turn(self, turn: Any) -> None:
        await self.recorder.transcript_turn(self.call.call_id, turn)


_S = AgentCallSession
_VOICE_HANDLERS: dict[type, Callable[[AgentCallSession, Any], Awaitable[None]]] = {
    SessionReady: _S._on_session_ready,
    ResponseStarted: _S._on_response_started,
    AudioDelta: _S._on_audio_delta,
    AudioDone: _S._on_audio_done,
    AgentTranscript: _S._on_agent_transcript,
    CalleeTranscript: _S._on_callee_transcript,
    SpeechStarted: _S._on_speech_started,
    SpeechStopped: _S._on_speech_stopped,
    ToolCall: _S._on_tool_call,
    ResponseDone: _S._on_response_done,
    RateLimitsUpdated: _S._on_rate_limits,
    VoiceError: _S._on_voice_error,
    SessionClosed: _S._on_session_closed,
}
_MEDIA_HANDLERS: dict[type, Callable[[AgentCallSession, Any], Awaitable[None]]] = {
    AudioReceived: _S._on_callee_audio,
    DtmfReceived: _S._on_dtmf,
    MarkPlayed: _S._on_mark_played,
    MediaClosed: _S._on_media_closed,
}
