"""The VoiceModel port: a provider-neutral real-time speech-to-speech session.

The agent runtime talks only to these types. Audio crossing this port is always
in the call's media format (`AudioFormat`): the adapter converts to and from
whatever the provider speaks, so the runtime never resamples.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from engine.ports.telephony import AudioFormat


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object


@dataclass(frozen=True, slots=True)
class TurnDetectionConfig:
    kind: Literal["server_vad", "semantic_vad"] = "server_vad"
    silence_ms: int = 500  # server_vad only
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"  # semantic_vad only
    interrupt_response: bool = True  # the provider cancels its response when the callee speaks


@dataclass(frozen=True, slots=True)
class VoiceCapabilities:
    """What a provider's session does by itself and what it accepts, so the agent's logic stays
    provider-neutral: it consults these flags, never the provider's name."""

    client_truncates: bool = True  # `truncate` cuts the model's item to what was played (else a no-op)
    supports_response_create: bool = True  # `create_response` starts one response; False: the model
    # owns turn-taking and `create_response` only appends a directive it acts on when it sees fit
    model_yields_on_barge_in: bool = False  # the model stops talking by itself when the callee takes the floor
    billed_per_second: bool = False  # usage is active session time (Usage.active_seconds), not tokens


REALTIME_CAPABILITIES = VoiceCapabilities()


@dataclass(frozen=True, slots=True)
class VoiceSessionConfig:
    instructions: str
    media_format: AudioFormat
    tools: tuple[ToolSpec, ...] = ()
    voice: str = "marin"
    turn_detection: TurnDetectionConfig = field(default_factory=TurnDetectionConfig)
    transcription_model: str | None = None  # None: no callee transcripts


# --- events out of a session ------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionReady:
    session: dict[str, Any]  # the provider's effective session configuration


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True, slots=True)
class AudioDelta:
    response_id: str
    item_id: str
    audio: bytes  # in the call's media format
    model_ms: float  # duration of this delta on the model's item timeline


@dataclass(frozen=True, slots=True)
class AudioDone:
    response_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class AgentTranscript:
    response_id: str
    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CalleeTranscript:
    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CalleeTranscriptFailed:
    """The provider could not transcribe the callee's item; the model still heard the audio."""

    item_id: str
    reason: str  # the provider's error code (or message when it gives no code)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class ToolCall:
    response_id: str
    call_id: str
    name: str
    arguments: str  # raw JSON text as the model produced it; may be invalid


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    input_audio_tokens: int = 0
    input_text_tokens: int = 0
    input_cached_tokens: int = 0
    output_audio_tokens: int = 0
    output_text_tokens: int = 0
    active_seconds: float = 0.0  # billed session time, for providers billed per second

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(_usage_tuple(self), _usage_tuple(other), strict=True)))


def _usage_tuple(usage: Usage) -> tuple[float, ...]:
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.input_audio_tokens,
        usage.input_text_tokens,
        usage.input_cached_tokens,
        usage.output_audio_tokens,
        usage.output_text_tokens,
        usage.active_seconds,
    )


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str
    status: str  # completed | cancelled | failed | incomplete
    reason: str = ""  # turn_detected | client_cancelled | ... or an error code
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str
    limit: int
    remaining: int
    reset_seconds: float


@dataclass(frozen=True, slots=True)
class RateLimitsUpdated:
    limits: tuple[RateLimit, ...]


@dataclass(frozen=True, slots=True)
class VoiceError:
    code: str
    message: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session is gone. `expected` is True only when we closed it ourselves."""

    expected: bool
    reason: str = ""
    code: int | None = None


VoiceEvent = (
    SessionReady
    | ResponseStarted
    | AudioDelta
    | AudioDone
    | AgentTranscript
    | CalleeTranscript
    | CalleeTranscriptFailed
    | SpeechStarted
    | SpeechStopped
    | ToolCall
    | ResponseDone
    | RateLimitsUpdated
    | VoiceError
    | SessionClosed
)


class VoiceSession(Protocol):
    config: VoiceSessionConfig
    capabilities: VoiceCapabilities

    def events(self) -> AsyncIterator[VoiceEvent]:
        """Everything the model says or notices, ending with SessionClosed.

        A session may also offer `deliver_to(sink)`: the same events, in the same order, handed to
        `sink` (a plain function) as they happen instead of through `events()`; the agent uses it
        when present, saving a queue hop and a task wake-up per event."""

    async def push_audio(self, audio: bytes) -> None:
        """Callee audio in the call's media format."""

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Cut the agent's item to what the callee actually heard."""

    async def cancel_response(self, response_id: str) -> None:
        """Stop the response `response_id` (the id of its ResponseStarted), and only that one: by the
        time the model reads the cancel it may have started another (the callee's next turn, say),
        which goes on. Nothing happens when that response is no longer active."""

    async def send_tool_result(self, call_id: str, output: str) -> None: ...

    async def add_context(self, text: str) -> None:
        """Add a system note to the conversation; it does not trigger a response."""

    async def create_response(self, instructions: str | None = None) -> None:
        """Ask the model to speak; queued while another response is active."""

    async def close(self) -> None: ...


class VoiceModel(Protocol):
    name: str  # "openai", "simulated", ...
    provider: str  # "realtime" | "live": which API, for the call's record
    model: str  # the model name, for the call's record and the price table

    async def open(self, config: VoiceSessionConfig) -> VoiceSession:
        """Connect and configure a session. Raises VoiceModelUnavailable."""


@runtime_checkable
class VoiceModels(Protocol):
    """The installation's voice models by provider (engine.voice.factory.VoiceModelService)."""

    async def model_for(self, provider: str | None) -> VoiceModel:
        """The model of `provider` ("realtime" | "live"), or the default one for None."""


class VoiceModelUnavailable(Exception):
    """No session could be opened (auth refused, network down, bad configuration)."""
