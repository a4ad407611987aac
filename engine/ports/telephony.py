"""The Telephony port: what the engine needs from a phone system.

`ari_apps` implements it for Asterisk (and for the PBX simulator, which speaks
ARI too). The engine only ever sees these types: no ARI ids, no aiohttp.

A call goes: `originate()` returns an `OutboundCall` at once (the phone rings);
`answered()` resolves True when the callee picks up (then `media` is live) or
False when the call failed; `finished()` resolves with the `TelephonyResult`
once every leg is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class CallOutcome(StrEnum):
    """Telephony outcome of one attempt (asterisk-ari.md §2.4)."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    UNALLOCATED = "unallocated"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


class AudioFormat(StrEnum):
    ULAW = "ulaw"  # 8 kHz G.711 mu-law, 160 bytes per 20 ms
    SLIN16 = "slin16"  # 16 kHz signed 16-bit little-endian, 640 bytes per 20 ms

    @property
    def sample_rate(self) -> int:
        return 8000 if self is AudioFormat.ULAW else 16000

    @property
    def bytes_per_ms(self) -> int:
        return 8 if self is AudioFormat.ULAW else 32

    @property
    def frame_bytes(self) -> int:
        """Bytes in one 20 ms frame."""
        return 20 * self.bytes_per_ms


@dataclass(frozen=True, slots=True)
class DialRequest:
    call_id: str  # our id; becomes the ARI channelId
    destination: str  # E.164 number (or a simulator persona / Local endpoint in tests)
    caller_id: str = ""
    ring_timeout_s: int = 30
    record: bool = False
    # Free-form labels the adapter may attach to logs (task id, user id); never secrets.
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TelephonyResult:
    outcome: CallOutcome
    q850_cause: int | None = None
    sip_code: int | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_by: str | None = None  # "callee" | "agent" | "system"
    recording: str | None = None  # the PBX's name of the call's recording: `Telephony.fetch_recording` gets it
    detail: str = ""  # a human-readable reason ("events socket lost", "busy (cause 17)")


# --- media events ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioReceived:
    audio: bytes  # callee audio in the call's AudioFormat


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    digit: str


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """Everything sent before `mark(name)` has been played to the callee."""

    name: str


@dataclass(frozen=True, slots=True)
class MediaClosed:
    reason: str = ""


MediaEvent = AudioReceived | DtmfReceived | MarkPlayed | MediaClosed


class MediaStream(Protocol):
    """Both directions of a live call's audio, whatever carries it."""

    format: AudioFormat

    async def send_audio(self, audio: bytes) -> None:
        """Queue agent audio for playout; the PBX (or the adapter) paces it."""

    async def mark(self, name: str) -> None:
        """Ask to be told (MarkPlayed) when everything queued so far has played."""

    async def flush(self) -> None:
        """Drop every queued, not yet played byte at once (barge-in)."""

    def events(self) -> AsyncIterator[MediaEvent]:
        """Callee audio, DTMF, marks played, and finally MediaClosed.

        A stream may also offer `deliver_to(sink)`: the same events, in the same order, handed to
        `sink` (a plain function) as they arrive instead of through `events()`; the agent uses it
        when present, saving a queue hop and a task wake-up per frame."""


class OutboundCall(Protocol):
    call_id: str

    @property
    def media(self) -> MediaStream:
        """The live audio; only valid after `answered()` returned True."""

    async def answered(self) -> bool:
        """Wait until the callee answered (True) or the attempt ended unanswered (False)."""

    async def send_dtmf(self, digits: str) -> None: ...

    async def hangup(self, reason: str = "normal") -> None:
        """Hang up every leg; idempotent."""

    async def finished(self) -> TelephonyResult:
        """Wait until every leg, media channel and bridge of the call is gone."""


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    ok: bool
    mode: str  # "asterisk" | "simulated" | "openai" | "fake" | ...
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class TelephonyEventSink(Protocol):
    """Where an adapter reports what happened, for the audit trail and the ARI event viewer."""

    async def raw_event(self, call_id: str, event: dict[str, Any]) -> None:
        """One raw PBX event of the call (an ARI event as received)."""

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """A human-readable step of the call ("ringing", "answered", "bridge created")."""


class Telephony(Protocol):
    async def start(self) -> None:
        """Connect (events socket etc.) and reconcile leftovers from an earlier run."""

    async def close(self) -> None: ...

    async def originate(self, request: DialRequest) -> OutboundCall:
        """Place a call. Raises TelephonyUnavailable when no call can be placed now."""

    async def status(self) -> ComponentStatus: ...

    async def live_call_ids(self) -> set[str]:
        """Call ids this node currently holds a live call for (used by lifecycle sweeps)."""

    async def fetch_recording(self, name: str) -> bytes:
        """The bytes (WAV) of a finished recording the PBX stores (`TelephonyResult.recording`).

        Raises RecordingUnavailable when the PBX cannot hand it over now."""

    async def delete_recording(self, name: str) -> None:
        """Delete a stored recording on the PBX. Raises RecordingUnavailable when that fails."""


class TelephonyUnavailable(Exception):
    """No call can be placed now (PBX unreachable, events socket down)."""


class RecordingUnavailable(Exception):
    """The PBX could not hand over (or delete) a stored recording; the message says why (status and reason)."""
