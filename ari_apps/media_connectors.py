"""How a call gets its media channel: chan_websocket (default) or AudioSocket."""

from __future__ import annotations

import logging

import aiohttp

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.telephony import AudioFormat

from .audiosocket import AudioSocketConnector
from .config import MediaSettings
from .media_gaps import SilenceTicker
from .media_websocket import MediaTimings, WebSocketMediaStream
from .outbound_call import AriCall, MediaConnector

log = logging.getLogger(__name__)


class WebSocketMediaConnector:
    """externalMedia in websocket server mode; we connect to `/media/<connection id>`."""

    def __init__(
        self,
        ari_url: str,
        session: aiohttp.ClientSession,
        fmt: AudioFormat,
        timings: MediaTimings | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        root = ari_url.rstrip("/").removesuffix("/ari")
        self._media_url = root.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/media/"
        self._session = session
        self.format = fmt
        self.timings = timings
        self._clock = clock
        self._silence = SilenceTicker(clock)  # one timer for every call's silence gaps

    async def open(self, call: AriCall) -> WebSocketMediaStream:
        reply = await call.ctx.rest.external_media(
            call.ctx.app,
            call.ids.media,
            str(self.format),
            transport="websocket",
            encapsulation="none",
            connection_type="server",
            transport_data="f(json)",
            data=call.call_id,
        )
        connection_id = str((reply.get("channelvars") or {}).get("MEDIA_WEBSOCKET_CONNECTION_ID", ""))
        if not connection_id:
            raise OSError("externalMedia returned no MEDIA_WEBSOCKET_CONNECTION_ID")
        call.ids.secrets.add(connection_id)
        ws = await self._session.ws_connect(self._media_url + connection_id, protocols=("media",), autoping=True)
        return WebSocketMediaStream(
            call.call_id, ws, self.format, call.media_closed, self.timings, self._clock, self._silence
        )

    async def close(self) -> None:
        await self._silence.close()


async def start_media_connector(
    media: MediaSettings, ari_url: str, session: aiohttp.ClientSession, clock: Clock = SYSTEM_CLOCK
) -> MediaConnector:
    """The connector `media.transport` names, ready to open calls' media channels."""
    if media.transport == "audiosocket":
        connector = AudioSocketConnector(media.audiosocket_bind, media.audiosocket_advertise_host, media.format, clock)
        await connector.start()
        return connector
    return WebSocketMediaConnector(ari_url, session, media.format, media.timings, clock)
