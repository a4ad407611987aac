"""ARI events as they arrive on `/ari/events`: typed models, one table, one parse function.

Only the fields we act on are modelled; every other field is kept in the raw dict
that travels with the model (the sink stores the raw event). Event types the spec
knows but we do not act on decode as `ChannelNotice` (they carry a channel) or
`Notice`. Anything else is logged and skipped.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

log = logging.getLogger(__name__)


class CallerId(msgspec.Struct, frozen=True):
    name: str = ""
    number: str = ""


class DialplanPosition(msgspec.Struct, frozen=True):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(msgspec.Struct, frozen=True):
    id: str
    name: str = ""
    state: str = ""
    caller: CallerId | None = None
    dialplan: DialplanPosition | None = None
    channelvars: dict[str, Any] | None = None


class Bridge(msgspec.Struct, frozen=True):
    id: str
    technology: str = ""
    bridge_type: str = ""
    name: str = ""
    channels: list[str] = []


class Recording(msgspec.Struct, frozen=True):
    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None


class AriEvent(msgspec.Struct, frozen=True):
    type: str
    application: str = ""
    timestamp: str = ""

    def channel_ids(self) -> tuple[str, ...]:
        """Ids of the channels or bridges this event is about (for routing to a call)."""
        return ()


class _OnChannel(AriEvent, frozen=True):
    channel: Channel | None = None

    def channel_ids(self) -> tuple[str, ...]:
        return (self.channel.id,) if self.channel else ()


class StasisStart(_OnChannel, frozen=True):
    args: list[str] = []


class StasisEnd(_OnChannel, frozen=True):
    pass


class ChannelStateChange(_OnChannel, frozen=True):
    pass


class ChannelHangupRequest(_OnChannel, frozen=True):
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool = False


class ChannelDestroyed(_OnChannel, frozen=True):
    cause: int = 0
    cause_txt: str = ""
    tech_cause: int | None = None


class ChannelDtmfReceived(_OnChannel, frozen=True):
    digit: str = ""
    duration_ms: int = 0


class ChannelNotice(_OnChannel, frozen=True):
    """A channel event we only log and store (ChannelVarset, ChannelDialplan, ...)."""


class ChannelUserevent(_OnChannel, frozen=True):
    """`POST /events/user/{eventName}`: the variables come back in `userevent` (with `eventname`)."""

    eventname: str = ""
    userevent: dict[str, Any] = {}


class Dial(AriEvent, frozen=True):
    peer: Channel | None = None
    caller: Channel | None = None
    dialstatus: str = ""
    dialstring: str = ""

    def channel_ids(self) -> tuple[str, ...]:
        return (self.peer.id,) if self.peer else ()


class _OnBridge(AriEvent, frozen=True):
    bridge: Bridge | None = None
    channel: Channel | None = None

    def channel_ids(self) -> tuple[str, ...]:
        ids = (self.bridge.id,) if self.bridge else ()
        return ids + ((self.channel.id,) if self.channel else ())


class BridgeDestroyed(_OnBridge, frozen=True):
    pass


class ChannelEnteredBridge(_OnBridge, frozen=True):
    pass


class ChannelLeftBridge(_OnBridge, frozen=True):
    pass


class _OnRecording(AriEvent, frozen=True):
    recording: Recording | None = None

    def channel_ids(self) -> tuple[str, ...]:
        target = self.recording.target_uri if self.recording else ""
        _, _, target_id = target.partition(":")
        return (target_id,) if target_id else ()


class RecordingStarted(_OnRecording, frozen=True):
    pass


class RecordingFinished(_OnRecording, frozen=True):
    pass


class RecordingFailed(_OnRecording, frozen=True):
    cause: str = ""


class ApplicationReplaced(AriEvent, frozen=True):
    pass


class Notice(AriEvent, frozen=True):
    """An event type the spec knows that we neither route nor act on."""


EVENT_MODELS: dict[str, type[AriEvent]] = {
    "StasisStart": StasisStart,
    "StasisEnd": StasisEnd,
    "Dial": Dial,
    "ChannelStateChange": ChannelStateChange,
    "ChannelHangupRequest": ChannelHangupRequest,
    "ChannelDestroyed": ChannelDestroyed,
    "ChannelDtmfReceived": ChannelDtmfReceived,
    "BridgeCreated": _OnBridge,
    "BridgeDestroyed": BridgeDestroyed,
    "ChannelEnteredBridge": ChannelEnteredBridge,
    "ChannelLeftBridge": ChannelLeftBridge,
    "RecordingStarted": RecordingStarted,
    "RecordingFinished": RecordingFinished,
    "RecordingFailed": RecordingFailed,
    "ApplicationReplaced": ApplicationReplaced,
    "PlaybackStarted": Notice,
    "PlaybackContinuing": Notice,
    "PlaybackFinished": Notice,
    "ApplicationRegistered": Notice,
    "ApplicationUnregistered": Notice,
    "ApplicationMoveFailed": ChannelNotice,
    "ChannelCreated": ChannelNotice,
    "ChannelVarset": ChannelNotice,
    "ChannelDialplan": ChannelNotice,
    "ChannelCallerId": ChannelNotice,
    "ChannelConnectedLine": ChannelNotice,
    "ChannelUserevent": ChannelUserevent,
    "ChannelHold": ChannelNotice,
    "ChannelUnhold": ChannelNotice,
    "ChannelToneDetected": ChannelNotice,
    "ChannelTalkingStarted": ChannelNotice,
    "ChannelTalkingFinished": ChannelNotice,
    "ChannelTransfer": ChannelNotice,
    "TextMessageReceived": Notice,
    "DeviceStateChanged": Notice,
    "EndpointStateChange": Notice,
    "ContactStatusChange": Notice,
    "PeerStatusChange": Notice,
    "BridgeMerged": _OnBridge,
    "BridgeVideoSourceChanged": _OnBridge,
    "BridgeBlindTransfer": Notice,
    "BridgeAttendedTransfer": Notice,
    "CallBroadcast": Notice,
    "CallClaimed": Notice,
}

_decoder = msgspec.json.Decoder(dict[str, Any])


def parse_event(data: str | bytes | dict[str, Any]) -> tuple[dict[str, Any], AriEvent] | None:
    """Decode one events-socket message into (raw dict, typed event), or None if unusable."""
    try:
        raw = data if isinstance(data, dict) else _decoder.decode(data)
    except msgspec.DecodeError as exc:
        log.warning("ARI event skipped: not a JSON object (%s)", exc)
        return None
    kind = raw.get("type")
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        log.warning("ARI event skipped: unknown type %r", kind)
        return None
    try:
        return raw, msgspec.convert(raw, model)
    except msgspec.ValidationError as exc:
        log.warning("ARI event %s skipped: %s (channel %s)", kind, exc, _channel_id_of(raw))
        return None


def _channel_id_of(raw: dict[str, Any]) -> str:
    for key in ("channel", "peer", "bridge"):
        value = raw.get(key)
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return value["id"]
    return "?"
