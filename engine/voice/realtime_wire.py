"""The OpenAI Realtime GA protocol's wire shapes: the `session` object we send, and the
server events that translate straight into port events (a type -> translator table).

Server events whose handling needs the session's state (session.updated,
response.created/done, audio, error) are handled in `openai_realtime`; the ones
in `IGNORED` carry nothing the port reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.ports.voice_model import (
    AgentTranscript,
    CalleeTranscript,
    CalleeTranscriptFailed,
    RateLimit,
    RateLimitsUpdated,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    Usage,
    VoiceEvent,
    VoiceSessionConfig,
)
from engine.voice.audio_bridge import AudioBridge

PCM_RATE = 24000


def session_payload(config: VoiceSessionConfig, bridge: AudioBridge) -> dict[str, Any]:
    """The GA `session` object for `session.update`."""
    detection = config.turn_detection
    turn: dict[str, Any] = {
        "type": detection.kind,
        "create_response": True,
        "interrupt_response": detection.interrupt_response,
    }
    if detection.kind == "server_vad":
        turn["silence_duration_ms"] = detection.silence_ms
    else:
        turn["eagerness"] = detection.eagerness
    transcription = {"model": config.transcription_model} if config.transcription_model else None
    return {
        "type": "realtime",
        "instructions": config.instructions,
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": bridge.model_format, "turn_detection": turn, "transcription": transcription},
            "output": {"format": bridge.model_format, "voice": config.voice},
        },
        "tools": [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
            for t in config.tools
        ],
        "tool_choice": "auto",
    }


def parse_usage(raw: dict[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    inp = raw.get("input_token_details") or {}
    out = raw.get("output_token_details") or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        input_audio_tokens=int(inp.get("audio_tokens") or 0),
        input_text_tokens=int(inp.get("text_tokens") or 0),
        input_cached_tokens=int(inp.get("cached_tokens") or 0),
        output_audio_tokens=int(out.get("audio_tokens") or 0),
        output_text_tokens=int(out.get("text_tokens") or 0),
    )


def speech_started(event: dict[str, Any]) -> SpeechStarted:
    return SpeechStarted(event.get("item_id", ""), int(event.get("audio_start_ms") or 0))


def speech_stopped(event: dict[str, Any]) -> SpeechStopped:
    return SpeechStopped(event.get("item_id", ""), int(event.get("audio_end_ms") or 0))


def callee_transcript(event: dict[str, Any]) -> CalleeTranscript:
    return CalleeTranscript(event.get("item_id", ""), event.get("transcript", ""))


def callee_transcript_failed(event: dict[str, Any]) -> CalleeTranscriptFailed:
    error = event.get("error") or {}
    reason = error.get("code") or error.get("message") or error.get("type") or "unknown"
    return CalleeTranscriptFailed(event.get("item_id", ""), str(reason))


def same_format(wanted: dict[str, Any], got: dict[str, Any] | None) -> bool:
    """Whether the server's format is the one we asked for: the type, and the rate of `audio/pcm`
    (24 kHz when the server leaves it out, the only rate GA supports). G.711 has no rate, so a
    server that adds one is still speaking what we asked."""
    if got is None:
        return True
    if got.get("type") != wanted.get("type"):
        return False
    if wanted.get("type") == "audio/pcm":
        return (got.get("rate") or PCM_RATE) == (wanted.get("rate") or PCM_RATE)
    return True


def agent_transcript(event: dict[str, Any]) -> AgentTranscript:
    return AgentTranscript(event.get("response_id", ""), event.get("item_id", ""), event.get("transcript", ""))


def tool_call(event: dict[str, Any]) -> ToolCall:
    return ToolCall(
        event.get("response_id", ""),
        event.get("call_id", ""),
        event.get("name", ""),
        event.get("arguments") or "",
    )


def rate_limits(event: dict[str, Any]) -> RateLimitsUpdated:
    limits = tuple(
        RateLimit(
            str(r.get("name", "")),
            int(r.get("limit") or 0),
            int(r.get("remaining") or 0),
            float(r.get("reset_seconds") or 0),
        )
        for r in event.get("rate_limits") or []
    )
    return RateLimitsUpdated(limits)


TRANSLATIONS: dict[str, Callable[[dict[str, Any]], VoiceEvent]] = {
    "input_audio_buffer.speech_started": speech_started,
    "input_audio_buffer.speech_stopped": speech_stopped,
    "conversation.item.input_audio_transcription.completed": callee_transcript,
    "conversation.item.input_audio_transcription.failed": callee_transcript_failed,
    "response.output_audio_transcript.done": agent_transcript,
    "response.function_call_arguments.done": tool_call,
    "rate_limits.updated": rate_limits,
}

IGNORED = frozenset(
    {
        "session.created",
        "conversation.created",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "input_audio_buffer.timeout_triggered",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.created",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "conversation.item.input_audio_transcription.delta",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.function_call_arguments.delta",
    }
)
