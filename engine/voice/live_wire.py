"""The OpenAI GPT-Live protocol's wire shapes (`/v1/live/sessions`, openai-python >= 3.57):
the `session` object of `session.start`, the audio formats, and the pieces of server events
the adapter reads. Stateless; the adapter (`openai_live`) keeps the session's state.

Contract: ../shared/docs/openai-live.md §1.3 (session.start), §2.1 (formats), §4.2
(Responses delegation), §6 (usage).
"""

from __future__ import annotations

import base64
from typing import Any

from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import Usage, VoiceSessionConfig

APPEND_MAX_CHARS = 1800  # appends are limited to 500 tokens each; ~4 characters a token, with a margin
DEFAULT_BACKEND_MODEL = "gpt-5-mini"

# The Live session object's startup fields (the SDK's SessionConfigParam); anything else is refused.
START_FIELDS = frozenset(
    {"model", "audio", "client", "delegation", "input", "instructions", "safety_identifier", "store", "triggers"}
)


# Server events the adapter has no use for (acknowledgements and informational events).
IGNORED_EVENTS = (
    "session.updated",
    "session.instructions.appended",
    "session.thinking.appended",
    "session.commentary.appended",
    "session.input_audio.muted",
    "session.input_audio.unmuted",
    "session.output_audio.fixture.playing",
    "session.output_audio.fixture.played",
    "info",
)

def audio_format(media_format: AudioFormat) -> dict[str, Any]:
    """One format for both directions, fixed at start. Both our media formats pass through:
    G.711 mu-law at 8 kHz, and PCM16 at 16 kHz (Live accepts 16 and 24 kHz; the server never resamples)."""
    if media_format is AudioFormat.ULAW:
        return {"type": "audio/pcmu", "rate": 8000}
    return {"type": "audio/pcm", "rate": media_format.sample_rate}


def bytes_per_ms(fmt: dict[str, Any]) -> int:
    return 8 if fmt["type"] in ("audio/pcmu", "audio/pcma") else int(fmt["rate"]) * 2 // 1000


def session_start(config: VoiceSessionConfig, model: str, backend_model: str) -> dict[str, Any]:
    """The `session` of `session.start`: the tools go to a Responses backend (Live has no function
    tools of its own); the agent's instructions serve the voice model and the backend alike."""
    session: dict[str, Any] = {
        "model": model,
        "instructions": config.instructions,
        "audio": {"format": audio_format(config.media_format), "output": {"voice": config.voice}},
        "store": False,
    }
    if config.tools:
        session["delegation"] = {
            "type": "responses",
            "acknowledgement_delay_ms": 0,
            "responses": {
                "model": backend_model,
                "instructions": config.instructions,
                "tools": [
                    {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in config.tools
                ],
                "tool_choice": "auto",
                "parallel_tool_calls": False,
            },
        }
    return session


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode()


def backend_usage(response: dict[str, Any]) -> Usage:
    """Token usage of a delegated Responses call (text in, text out)."""
    raw = response.get("usage") or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        input_text_tokens=int(raw.get("input_tokens") or 0),
        input_cached_tokens=int((raw.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        output_text_tokens=int(raw.get("output_tokens") or 0),
    )


def function_call(inner: dict[str, Any]) -> dict[str, Any] | None:
    """The function call a nested `response.output_item.done` carries, if it carries one."""
    item = inner.get("item") or {}
    if inner.get("type") == "response.output_item.done" and item.get("type") == "function_call":
        return item
    return None


def clip(text: str) -> str:
    return text if len(text) <= APPEND_MAX_CHARS else text[: APPEND_MAX_CHARS - 1] + "…"
