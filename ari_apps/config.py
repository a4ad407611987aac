"""What an `AriTelephony` is configured with: one frozen value, read from `Settings` once."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.ports.telephony import AudioFormat
from engine.settings import Settings

from .events_socket import SocketTimings
from .media_websocket import MediaTimings


@dataclass(frozen=True)
class MediaSettings:
    """How a call's audio reaches us: chan_websocket (default) or AudioSocket, in which format."""

    format: AudioFormat = AudioFormat.ULAW
    transport: str = "websocket"  # or "audiosocket"
    audiosocket_bind: str = "127.0.0.1:0"
    audiosocket_advertise_host: str = ""
    timings: MediaTimings | None = field(default=None, compare=False)  # per-frame samples, for benchmarks


@dataclass(frozen=True)
class AriConfig:
    ari_url: str
    user: str
    password: str = field(repr=False)
    app: str
    dial_endpoint: str = "PJSIP/{number}@trunk"  # `{number}` is the destination
    caller_id: str = ""
    record_calls: bool = False
    mode: str = "asterisk"  # what `status()` reports: "asterisk" or "simulated"
    media: MediaSettings = MediaSettings()
    connect_timeout_s: float = 5.0  # how long `start()` waits for the events socket before going on
    socket: SocketTimings = SocketTimings()  # the events socket's reconnection backoff and liveness probe

    def __post_init__(self) -> None:
        object.__setattr__(self, "ari_url", self.ari_url.rstrip("/"))

    @classmethod
    def from_settings(cls, settings: Settings, *, mode: str = "asterisk") -> AriConfig:
        return cls(
            ari_url=settings.ari_url or "",
            user=settings.ari_user,
            password=settings.ari_password.get_secret_value(),
            app=settings.ari_app,
            dial_endpoint=settings.dial_endpoint,
            caller_id=settings.caller_id,
            record_calls=settings.record_calls,
            mode=mode,
            media=MediaSettings(
                format=AudioFormat(str(settings.media_format)),
                transport=str(settings.media_transport),
                audiosocket_bind=settings.audiosocket_bind,
                audiosocket_advertise_host=settings.audiosocket_advertise_host,
            ),
        )
