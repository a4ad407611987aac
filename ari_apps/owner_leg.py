"""The owner's leg of a live call: a second chan_websocket channel in the call's mixing bridge.

`{call}-owner` is created with externalMedia (ulaw, `f(json)`), joins `{call}-bridge` after its
StasisStart, and starts listen-only: `POST /channels/{id}/mute?direction=in` (its audio never
reaches the bridge) and `SET_MEDIA_DIRECTION in` (chan_websocket drops what we send). Talk mutes
the agent's channel `{call}-media` the same way and opens the owner's; hand back reverses it.
Leaving hangs the owner's channel up and nothing else. The call's teardown closes the leg too,
so no path leaves it behind. Every move is a step in the call's timeline and an `OwnerChanged`
for the agent session, in order with the call's media events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from engine.ports.owner_voice import OwnerAudio, OwnerChanged
from engine.ports.telephony import AudioFormat

from .rest_client import AriError, seg
from .wire_events import AriEvent, ChannelDestroyed, StasisStart

log = logging.getLogger(__name__)
JOIN_TIMEOUT_S = 10.0


class AriOwnerLeg:
    format = AudioFormat.ULAW

    def __init__(self, call: Any, session: aiohttp.ClientSession, media_url: str) -> None:
        self.call = call  # outbound_call.AriCall
        self.channel_id = f"{call.call_id}-owner"
        self._session = session
        self._media_url = media_url
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._in_stasis = asyncio.Event()
        self._gone = asyncio.Event()
        self._created = False
        self.talking = False
        self._talk_started = 0.0
        self._lock = asyncio.Lock()
        self.closed = False

    # --- routed by the call --------------------------------------------------------

    def on_event(self, event: AriEvent) -> None:
        ch = getattr(event, "channel", None)
        if ch is None or ch.id != self.channel_id:
            return
        if isinstance(event, StasisStart):
            self._in_stasis.set()
        elif isinstance(event, ChannelDestroyed):
            self._gone.set()

    # --- OwnerLeg ------------------------------------------------------------------

    async def join(self) -> None:
        rest, ids = self.call.ctx.rest, self.call.ids
        try:
            reply = await rest.external_media(
                self.call.ctx.app, self.channel_id, str(self.format), transport="websocket", encapsulation="none",
                connection_type="server", transport_data="f(json)", data=self.call.call_id,
            )  # fmt: skip
            self._created = True
            connection_id = str((reply.get("channelvars") or {}).get("MEDIA_WEBSOCKET_CONNECTION_ID", ""))
            self.call.ids.secrets.add(connection_id)
            self._ws = await self._session.ws_connect(self._media_url + connection_id, protocols=("media",))
            await asyncio.wait_for(self._in_stasis.wait(), JOIN_TIMEOUT_S)
            await self._mute(self.channel_id, True)
            await self._direction("in")
            await rest.add_channels(ids.bridge, [self.channel_id])
        except BaseException:
            await self.close()
            raise
        await self._moved(OwnerChanged("joined"), "owner_joined", "the owner joined the call, listening")

    async def audio(self) -> AsyncIterator[bytes]:
        ws = self._ws
        if ws is None:
            return
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.BINARY:
                yield msg.data
            elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                break

    async def send_audio(self, frame: bytes) -> None:
        if self.talking and self._ws is not None and not self._ws.closed:
            await self._ws.send_bytes(frame)
            self.call.tell_agent(OwnerAudio(frame))  # the owner's words are transcribed on their own

    async def talk(self) -> None:
        async with self._lock:
            if self.talking or self.closed:
                return
            await self._mute(self.call.ids.media, True)
            await self._mute(self.channel_id, False)
            await self._direction("both")
            self.talking, self._talk_started = True, time.monotonic()
        await self._moved(OwnerChanged("talking"), "owner_talking", "the owner took the call over; the agent is muted")

    async def hand_back(self) -> None:
        async with self._lock:
            if not self.talking:
                return
            self.talking = False
            held = int((time.monotonic() - self._talk_started) * 1000)
            with contextlib.suppress(AriError):
                await self._mute(self.channel_id, True)
            await self._direction("in")
            with contextlib.suppress(AriError):
                await self._mute(self.call.ids.media, False)
        await self._moved(
            OwnerChanged("handed_back", held), "owner_handed_back", "the owner handed the call back to the agent",
            {"talked_ms": held},
        )  # fmt: skip

    async def leave(self) -> None:
        if self.closed:
            return
        await self.hand_back()
        await self.close()
        await self._moved(OwnerChanged("left"), "owner_left", "the owner left the call; it goes on")

    async def close(self) -> None:
        """Hang the owner's channel up and close its socket (the call's teardown calls this too)."""
        if self.closed:
            return
        self.closed = True
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._created and not self._gone.is_set():
            with contextlib.suppress(AriError):
                await self.call.ctx.rest.hangup(self.channel_id)
        self.call.owner_leg_closed(self)

    # --- internals -------------------------------------------------------------------

    async def _mute(self, channel_id: str, mute: bool) -> None:
        method = "POST" if mute else "DELETE"
        await self.call.ctx.rest.request(method, f"/channels/{seg(channel_id)}/mute", params={"direction": "in"})

    async def _direction(self, direction: str) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(json.dumps({"command": "SET_MEDIA_DIRECTION", "direction": direction}))

    async def _moved(self, change: OwnerChanged, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self.call.tell_agent(change)  # to the agent session, in order with the call's media events
        await self.call.step(kind, message, data)


async def join_owner_leg(call: Any, session: aiohttp.ClientSession | None, ari_url: str) -> AriOwnerLeg:
    """The owner's leg on live call `call` (an AriCall of this node), joined and listening."""
    from .outbound_call import CallState

    if call is None or session is None or call.state is not CallState.LIVE:
        raise LookupError("the call is not live on this node")
    if call.owner_leg is not None:
        await call.owner_leg.leave()  # one owner leg per call: a new page replaces the old one
    root = ari_url.rstrip("/").removesuffix("/ari")
    media_url = root.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/media/"
    leg = AriOwnerLeg(call, session, media_url)
    call.owner_leg = leg
    await leg.join()
    return leg
