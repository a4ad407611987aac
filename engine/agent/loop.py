"""The call's event loop: every voice-model and media event, in order, through dispatch tables.

Voice events arrive tagged with the model session that sent them (`FromVoice`);
events of a replaced session are dropped. Recovery from a lost model session
(one reconnect per call) and from rate limits (retries with backoff) lives
here too, since events trigger both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from engine.agent.cut_off import cut_agent_audio
from engine.agent.live_call import LiveCall
from engine.agent.model_link import FromVoice
from engine.agent.owner import OwnerVoice
from engine.agent.tools import invoke_interrupted_tool, invoke_tool
from engine.ports.agent import ToolCallRecord
from engine.ports.owner_voice import OwnerAudio, OwnerChanged
from engine.ports.telephony import AudioReceived, DtmfReceived, MarkPlayed, MediaClosed
from engine.ports.voice_model import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CalleeTranscript,
    CalleeTranscriptFailed,
    RateLimitsUpdated,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    VoiceError,
    VoiceModelUnavailable,
)

log = logging.getLogger(__name__)

ACTIVE_RESPONSE = "conversation_already_has_active_response"  # our create raced a response of the service
RATE_LIMIT_CODES = {"rate_limit_exceeded", "requests_per_min_limit_exceeded", "tokens_per_min_limit_exceeded"}


class Stop:
    """Queued when the call is over, so the loop wakes up and returns."""


class CallLoop:
    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self._link = call.link
        self._rate_limit_retries = 0
        self._keys_reply: asyncio.Task[None] | None = None
        self._awaiting_reply_since: float | None = None  # the callee stopped speaking; no reply heard yet
        self._owner = OwnerVoice(call)

    async def run(self) -> None:
        call = self._call
        while not call.status.over:
            item = await call.inbox.get()
            if isinstance(item, Stop):
                break
            if isinstance(item, FromVoice):
                if item.generation == self._link.generation:
                    await _VOICE_HANDLERS[type(item.event)](self, item.event)
            else:
                await _MEDIA_HANDLERS[type(item)](self, item)

    # --- voice events ------------------------------------------------------------------------

    async def _on_session_ready(self, event: SessionReady) -> None:
        log.debug("call %s: voice session ready", self._call.call.call_id)

    async def _on_response_started(self, event: ResponseStarted) -> None:
        link = self._link
        second = link.response_started(event.response_id)
        if (second or self._owner.holds) and link.session is not None:
            link.cancelled.add(event.response_id)
            await link.session.cancel_response(event.response_id)
            if not second:
                return  # the owner holds the call: the agent listens and does not answer
            await self._call.event(
                "second_reply_cancelled",
                "a second reply to the same callee turn was cancelled before it was heard",
                {"response_id": event.response_id},
            )
            return
        await self._call.supervision.response_started(event.response_id)

    async def _on_audio_delta(self, event: AudioDelta) -> None:
        call, link = self._call, self._link
        if event.response_id in link.cancelled or call.playout is None or not event.audio:
            return
        now = call.clock.monotonic()
        if call.metrics.time_to_first_audio_ms is None and call.answered_at is not None:
            call.metrics.time_to_first_audio_ms = (now - call.answered_at) * 1000
        if event.response_id not in link.responses_heard:
            link.responses_heard.add(event.response_id)
            if self._awaiting_reply_since is not None:
                call.metrics.turn_latencies_ms.append((now - self._awaiting_reply_since) * 1000)
                self._awaiting_reply_since = None
        await call.transcript.agent_started(event.item_id, call.clock.now())
        await call.playout.send(event.response_id, event.item_id, event.audio, event.model_ms)
        call.supervision.touch()

    async def _on_audio_done(self, event: AudioDone) -> None:
        if event.response_id in self._link.cancelled or self._call.playout is None:
            return
        await self._call.playout.finish(event.item_id)
        await self._end_played_turns()

    async def _on_agent_transcript(self, event: AgentTranscript) -> None:
        call = self._call
        if event.response_id in self._link.cancelled and not call.transcript.is_open(event.item_id):
            return  # a cancelled response of which nothing was played: the callee heard none of it
        await call.transcript.agent_text(event.item_id, event.text, call.clock.now())

    async def _on_callee_transcript(self, event: CalleeTranscript) -> None:
        await self._call.transcript.callee_text(event.item_id, event.text, self._call.clock.now())
        await self._call.supervision.callee_words(event.text)

    async def _on_callee_transcript_failed(self, event: CalleeTranscriptFailed) -> None:
        call = self._call
        await call.event(
            "transcription_failed",
            f"the callee's words could not be transcribed ({event.reason})",
            {"item_id": event.item_id, "reason": event.reason},
        )
        await call.transcript.callee_text_failed(event.item_id, call.clock.now())

    async def _on_speech_started(self, event: SpeechStarted) -> None:
        call, link = self._call, self._link
        link.callee_speaking = True
        await call.transcript.callee_started(event.item_id, call.clock.now())
        await call.supervision.speech_started()
        if link.active_response is not None:
            # The server cancels it (interrupt_response) or we do; either way its audio is stale.
            link.cancelled.add(link.active_response)
            session = link.session
            yields = session is not None and session.capabilities.model_yields_on_barge_in
            if not call.options.turn_detection.interrupt_response and session is not None and not yields:
                await session.cancel_response(link.active_response)
        cut = await cut_agent_audio(call)
        if cut is None:
            return
        call.metrics.barge_ins += 1
        await call.event(
            "barge_in",
            f"the callee interrupted the agent after {cut.played_ms} ms",
            {"item_id": cut.item_id, "audio_end_ms": cut.played_ms},
        )

    async def _on_speech_stopped(self, event: SpeechStopped) -> None:
        self._link.callee_stopped()
        self._awaiting_reply_since = self._call.clock.monotonic()
        await self._call.transcript.callee_stopped(event.item_id, self._call.clock.now())
        await self._call.supervision.speech_stopped()

    async def _on_tool_call(self, event: ToolCall) -> None:
        call, link = self._call, self._link
        call.metrics.tool_calls += 1
        run = invoke_interrupted_tool if event.response_id in link.cancelled else invoke_tool
        result = await run(call.profile.tools, event.name, event.arguments, call.tool_context)
        call.tool_calls.append(ToolCallRecord(event.name, event.arguments, result.output, result.ok, call.clock.now()))
        message = f"{event.name} {'done' if result.ok else 'refused: ' + result.error}"
        await call.event(
            "tool_call", message, {"name": event.name, "arguments": event.arguments, "output": result.output}
        )
        if call.status.winding_down or link.session is None:
            return
        await link.send_tool_result(event.call_id, result.output)
        if result.respond:
            await link.create_response()

    async def _on_response_done(self, event: ResponseDone) -> None:
        if event.usage is not None:
            self._call.metrics.usage = self._call.metrics.usage + event.usage
        await self._link.response_done(event.response_id)
        await self._call.supervision.response_done()
        if event.status == "failed" and "rate_limit" in event.reason:
            await self._rate_limited(event.reason)

    async def _on_rate_limits(self, event: RateLimitsUpdated) -> None:
        exhausted = [limit.name for limit in event.limits if limit.remaining <= 0]
        if exhausted:
            await self._call.event(
                "rate_limit",
                f"rate limit exhausted: {', '.join(exhausted)}",
                {"limits": [(lim.name, lim.remaining, lim.reset_seconds) for lim in event.limits]},
            )

    async def _on_voice_error(self, event: VoiceError) -> None:
        await self._call.event(
            "voice_error", f"{event.code}: {event.message}", {"code": event.code, "fatal": event.fatal}
        )
        if event.code == ACTIVE_RESPONSE:
            self._link.create_refused()
        elif event.code in RATE_LIMIT_CODES:
            await self._rate_limited(event.code)
        elif event.fatal:
            await self._recover(f"fatal model error {event.code}")

    async def _on_session_closed(self, event: SessionClosed) -> None:
        if event.expected or self._call.status.winding_down:
            return  # nothing to resume when the goodbye is already under way
        await self._recover(f"voice session closed ({event.code} {event.reason})".strip())

    # --- media events ------------------------------------------------------------------------

    async def _on_callee_audio(self, event: AudioReceived) -> None:
        if self._link.session is not None:
            await self._link.session.push_audio(self._owner.line_for_model(event.audio))
        await self._call.supervision.callee_audio(event.audio)

    async def _on_dtmf(self, event: DtmfReceived) -> None:
        await self._call.event("dtmf_received", f"the callee pressed {event.digit}", {"digit": event.digit})
        await self._link.add_context(f"The callee pressed the key '{event.digit}' on their phone keypad.")
        if self._keys_reply is not None:
            self._keys_reply.cancel()
        self._keys_reply = self._call.tasks.spawn(self._reply_after_keys(), "keys-reply")

    async def _reply_after_keys(self) -> None:
        """Keys alone trigger no voice activity: once they stop, react unless the agent spoke meanwhile."""
        call = self._call
        heard = len(self._link.responses_heard)
        while not call.status.winding_down:
            await call.clock.sleep(call.options.dtmf_reply_after_s)
            if len(self._link.responses_heard) != heard:
                return  # a reply started after the keys: it already took them into account
            if call.question_host.line_quiet and not call.questions.asking:
                await self._link.create_response()
                return

    async def _on_mark_played(self, event: MarkPlayed) -> None:
        assert self._call.playout is not None
        await self._call.playout.on_mark_played(event.name)
        self._call.supervision.touch()
        await self._end_played_turns()

    async def _end_played_turns(self) -> None:
        call = self._call
        assert call.playout is not None
        for item_id in call.playout.finished_items():
            await call.transcript.agent_ended(item_id, call.clock.now())

    async def _on_media_closed(self, event: MediaClosed) -> None:
        await self._call.callee_hung_up(event.reason or "media closed")

    async def _on_owner_changed(self, event: OwnerChanged) -> None:
        await self._owner.changed(event)

    async def _on_owner_audio(self, event: OwnerAudio) -> None:
        await self._owner.audio(event)

    # --- recovering ----------------------------------------------------------------------------

    async def _rate_limited(self, code: str) -> None:
        call = self._call
        call.metrics.rate_limit_hits += 1
        if self._rate_limit_retries >= call.options.rate_limit_retries:
            await call.fail(f"rate limited ({code})")
            return
        delay = call.options.rate_limit_backoff_s * 2**self._rate_limit_retries
        self._rate_limit_retries += 1
        await call.event(
            "rate_limit", f"rate limited ({code}); retrying in {delay:g} s", {"code": code, "delay_s": delay}
        )
        call.tasks.spawn(self._retry_response(delay), "rate-limit-retry")

    async def _retry_response(self, delay_s: float) -> None:
        await self._call.clock.sleep(delay_s)
        await self._link.retry_response()

    async def _recover(self, reason: str) -> None:
        """One reconnect per call, carrying the conversation so far; then give up."""
        call = self._call
        await call.event("voice_session_lost", reason)
        if call.metrics.reconnects >= 1:
            await call.fail(f"voice session lost again: {reason}")
            return
        call.metrics.reconnects += 1
        await self._link.close()
        try:
            await self._link.open(resume_with=call.transcript.summary())
        except VoiceModelUnavailable as exc:
            await call.fail(f"reconnect failed: {exc}")
            return
        await call.event("voice_session_resumed", "a new voice session carries on the conversation")


_L = CallLoop
_VOICE_HANDLERS: dict[type, Callable[[CallLoop, Any], Awaitable[None]]] = {
    SessionReady: _L._on_session_ready,
    ResponseStarted: _L._on_response_started,
    AudioDelta: _L._on_audio_delta,
    AudioDone: _L._on_audio_done,
    AgentTranscript: _L._on_agent_transcript,
    CalleeTranscript: _L._on_callee_transcript,
    CalleeTranscriptFailed: _L._on_callee_transcript_failed,
    SpeechStarted: _L._on_speech_started,
    SpeechStopped: _L._on_speech_stopped,
    ToolCall: _L._on_tool_call,
    ResponseDone: _L._on_response_done,
    RateLimitsUpdated: _L._on_rate_limits,
    VoiceError: _L._on_voice_error,
    SessionClosed: _L._on_session_closed,
}
_MEDIA_HANDLERS: dict[type, Callable[[CallLoop, Any], Awaitable[None]]] = {
    AudioReceived: _L._on_callee_audio,
    DtmfReceived: _L._on_dtmf,
    MarkPlayed: _L._on_mark_played,
    MediaClosed: _L._on_media_closed,
    OwnerChanged: _L._on_owner_changed,
    OwnerAudio: _L._on_owner_audio,
}
