"""Media channels of the simulated PBX: chan_websocket (server mode) and AudioSocket.

One ticker task drives every media channel on a 20 ms clock, as Asterisk's
timer does: each tick plays one queued agent frame to the callee (reporting
marks once everything before them has played) and sends the callee's next frame
to the agent. chan_websocket queues what the agent bursts (max 1000 frames, XOFF
at 900, XON at 800); AudioSocket does not buffer (more than 4 frames waiting are
dropped, like softmix does), so an agent that does not pace loses audio.
The ticker is each media connection's only writer once MEDIA_START is out.
While the callee is quiet nothing at all is sent (as Asterisk: it writes only what the
bridge gives it); the agent's side fills the gap (ari_apps/media_gaps.py). As
res_http_websocket does, a frame over 65,535 bytes with its header closes the socket
with 1009; as chan_websocket does, a TEXT command over 128 bytes is ignored.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import struct
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from . import audio, bridge_mix
from .pbx import Pbx

log = logging.getLogger(__name__)

QUEUE_MAX, XOFF_LEVEL, XON_LEVEL = 1000, 900, 800
MAX_FRAME_BYTES = 65535  # AST_WEBSOCKET_MAX_RX_PAYLOAD_SIZE: header + payload
CLIENT_HEADER_BYTES = 8  # 2 + 2 (16-bit length) + 4 (mask key): a client's frame of 126..65535 bytes
MAX_TEXT_BYTES = 128  # chan_websocket MAX_TEXT_MESSAGE_LEN
SILENCE = {"ulaw": b"\xff" * 160, "slin": bytes(320), "slin16": bytes(640)}
AUDIOSOCKET_KIND = {"slin": 0x10, "slin16": 0x12}


class _Mark:
    __slots__ = ("correlation_id",)

    def __init__(self, correlation_id: str) -> None:
        self.correlation_id = correlation_id


class MediaLink:
    """The PBX end of one media channel."""

    def __init__(self, pbx: Pbx, channel_id: str, fmt: str) -> None:
        self.pbx = pbx
        self.channel_id = channel_id
        self.fmt = fmt
        self.frame_bytes = audio.WIRE_FRAME_BYTES[fmt]
        self.playout: collections.deque[bytes | _Mark] = collections.deque()
        self.audio_frames = 0
        self.connected = asyncio.Event()
        self.lost_frames = 0

    def queue_dtmf(self, digit: str) -> None:
        raise NotImplementedError

    async def tick(self) -> None:
        """One 20 ms step: play one agent frame, send one callee frame."""
        raise NotImplementedError

    async def close(self, code: int) -> None:
        raise NotImplementedError

    def _play_one(self) -> bytes | None:
        while self.playout and isinstance(self.playout[0], _Mark):
            self._mark_played(self.playout.popleft().correlation_id)  # type: ignore[union-attr]
        if not self.playout:
            return None
        self.audio_frames -= 1
        frame = self.playout.popleft()
        while self.playout and isinstance(self.playout[0], _Mark):
            self._mark_played(self.playout.popleft().correlation_id)  # type: ignore[union-attr]
        return frame  # type: ignore[return-value]

    def _mark_played(self, correlation_id: str) -> None:
        pass

    def _exchange(self, agent_frame: bytes | None) -> bytes | None:
        ch = self.pbx.channels.get(self.channel_id)
        if ch is not None and len(bridge_mix.media_peers(self.pbx, ch.bridge_id)) > 1:
            return bridge_mix.exchange(self, ch, agent_frame)  # an owner's leg joined the call
        if agent_frame is not None and ch is not None and ch.id in self.pbx.muted_in:
            agent_frame = None
        session = self.pbx.session_in_bridge(ch.bridge_id if ch else None)
        callee_frame = None
        if session is not None:
            session.hear(agent_frame)  # a quiet tick is 20 ms of silence on the media clock
            callee_frame = session.next_frame()
            self.pbx.served.add(session)
        bridge = self.pbx.bridges.get(ch.bridge_id or "") if ch else None
        if bridge is not None and bridge.recording is not None:
            heard = callee_frame if callee_frame is not None else SILENCE[self.fmt]
            mixed = _mix(audio.from_wire(agent_frame or SILENCE[self.fmt], self.fmt), audio.from_wire(heard, self.fmt))
            self.pbx.live_recordings.setdefault(bridge.recording, bytearray()).extend(mixed)
        return callee_frame  # None: the callee is quiet, and nothing is sent


def _mix(a: bytes, b: bytes) -> bytes:
    import numpy as np

    x = np.frombuffer(a, "<i2").astype(np.int32) + np.frombuffer(b, "<i2").astype(np.int32)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


class WebSocketLink(MediaLink):
    """chan_websocket in server mode: the agent connects to /media/<connection id>."""

    def __init__(self, pbx: Pbx, channel_id: str, fmt: str, connection_id: str, args: list[str]) -> None:
        super().__init__(pbx, channel_id, fmt)
        self.connection_id = connection_id
        self.args = args
        self.ws: web.WebSocketResponse | None = None
        self._texts: collections.deque[str] = collections.deque()
        self._xoff = False
        self._leftover = b""
        self._buffering = False
        self.direction = "both"  # SET_MEDIA_DIRECTION (f(json) only): "in" drops what the app sends

    @property
    def xoff(self) -> bool:
        """MEDIA_XOFF is in force (the queue reached 900 frames and has not drained to 800)."""
        return self._xoff

    def queue_dtmf(self, digit: str) -> None:
        self._send_event("DTMF_END", digit=digit)

    def _send_event(self, name: str, **fields: Any) -> None:
        self._texts.append(json.dumps({"event": name, "channel_id": self.channel_id, **fields}))

    def _mark_played(self, correlation_id: str) -> None:
        self._send_event("MEDIA_MARK_PROCESSED", correlation_id=correlation_id)

    async def tick(self) -> None:
        ws = self.ws
        if ws is None or ws.closed:
            return
        frame = self._play_one()
        if self._xoff and self.audio_frames <= XON_LEVEL:
            self._xoff = False
            self._send_event("MEDIA_XON")
        out = self._exchange(frame)
        try:
            while self._texts:
                await ws.send_str(self._texts.popleft())
            if out is not None:
                await ws.send_bytes(out)
        except ConnectionError:
            pass

    async def serve(self, ws: web.WebSocketResponse) -> None:
        """Run one agent connection: MEDIA_START, then read audio and commands."""
        self.ws = ws
        start = {
            "event": "MEDIA_START",
            "connection_id": self.connection_id,
            "channel": f"WebSocket/INCOMING/{self.channel_id}",
            "channel_id": self.channel_id,
            "format": self.fmt,
            "optimal_frame_size": self.frame_bytes,
            "ptime": 20,
            "channel_variables": {
                "MEDIA_WEBSOCKET_CONNECTION_ID": self.connection_id,
                "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": str(self.frame_bytes),
            },
        }
        await ws.send_str(json.dumps(start))
        await self.pbx.media_connected(self)
        self.connected.set()
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.BINARY:
                if len(msg.data) + CLIENT_HEADER_BYTES > MAX_FRAME_BYTES:
                    log.warning("simulator: media frame of %d bytes does not fit: closing (1009)", len(msg.data))
                    await ws.close(code=1009)
                    break
                xoff_before = self._xoff
                self._queue_audio(msg.data)
                if self._xoff and not xoff_before:
                    await self.pbx.notify()
            elif msg.type is aiohttp.WSMsgType.TEXT:
                if len(msg.data.encode()) > MAX_TEXT_BYTES:
                    log.warning("simulator: media TEXT message of %d bytes ignored", len(msg.data.encode()))
                    continue
                await self._command(msg.data)
        await self.pbx.media_socket_closed(self, ws.close_code or 1006)

    def _queue_audio(self, data: bytes) -> None:
        if self.direction == "in":
            return  # chan_websocket.c: Asterisk sends only, what the app sends is dropped
        data = self._leftover + data
        usable = len(data) - len(data) % self.frame_bytes
        # Outside media buffering a trailing partial frame is dropped (chan_websocket).
        self._leftover = data[usable:] if self._buffering else b""
        for i in range(0, usable, self.frame_bytes):
            if self.audio_frames >= QUEUE_MAX:
                self.lost_frames += 1
                continue
            self.playout.append(data[i : i + self.frame_bytes])
            self.audio_frames += 1
        if not self._xoff and self.audio_frames >= XOFF_LEVEL:
            self._xoff = True
            self._send_event("MEDIA_XOFF")

    async def _command(self, text: str) -> None:
        try:
            message = json.loads(text)
            command = message["command"]
        except (ValueError, KeyError, TypeError):
            self._send_event("ERROR", error_text=f"Unable to parse command: {text[:60]}")
            return
        handler = _COMMANDS.get(command) if isinstance(command, str) else None
        if handler is None:
            self._send_event("ERROR", error_text=f"Unknown command: {command}")
            return
        await handler(self, message)

    # --- chan_websocket commands (see _COMMANDS) ----------------------------------

    async def _on_mark(self, message: dict[str, Any]) -> None:
        self.playout.append(_Mark(str(message.get("correlation_id", ""))))

    async def _on_flush(self, message: dict[str, Any]) -> None:
        self.playout.clear()  # queued marks go too, as in chan_websocket
        self.audio_frames = 0
        self._leftover = b""
        self._buffering = False

    async def _on_get_status(self, message: dict[str, Any]) -> None:
        self._send_event(
            "STATUS",
            queue_length=self.audio_frames,
            xon_level=XON_LEVEL,
            xoff_level=XOFF_LEVEL,
            queue_full=self.audio_frames >= QUEUE_MAX,
            bulk_media=self._buffering,
            media_paused=False,
        )

    async def _on_start_buffering(self, message: dict[str, Any]) -> None:
        self._buffering = True

    async def _on_stop_buffering(self, message: dict[str, Any]) -> None:
        self._buffering = False
        self._leftover = b""
        self._send_event("MEDIA_BUFFERING_COMPLETED", correlation_id=message.get("correlation_id", ""))

    async def _on_set_direction(self, message: dict[str, Any]) -> None:
        direction = message.get("direction")
        if direction not in ("both", "in", "out"):
            self._send_event("ERROR", error_text=f"Invalid direction: {direction}")
            return
        self.direction = str(direction)

    async def _on_hangup(self, message: dict[str, Any]) -> None:
        await self.pbx.media_hangup_command(self)

    async def _accepted(self, message: dict[str, Any]) -> None:
        """A command chan_websocket takes that changes nothing the simulator models."""

    async def close(self, code: int) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close(code=code)


_W = WebSocketLink
_COMMANDS: dict[str, Callable[[WebSocketLink, dict[str, Any]], Awaitable[None]]] = {
    "MARK_MEDIA": _W._on_mark,
    "FLUSH_MEDIA": _W._on_flush,
    "GET_STATUS": _W._on_get_status,
    "START_MEDIA_BUFFERING": _W._on_start_buffering,
    "STOP_MEDIA_BUFFERING": _W._on_stop_buffering,
    "HANGUP": _W._on_hangup,
    "SET_MEDIA_DIRECTION": _W._on_set_direction,
    "ANSWER": _W._accepted,
    "REPORT_QUEUE_DRAINED": _W._accepted,
    "PAUSE_MEDIA": _W._accepted,
    "CONTINUE_MEDIA": _W._accepted,
}


class AudioSocketLink(MediaLink):
    """AudioSocket: the PBX connects to the agent's TCP server and sends the UUID first."""

    def __init__(self, pbx: Pbx, channel_id: str, fmt: str, host: str, port: int, uuid_text: str) -> None:
        super().__init__(pbx, channel_id, fmt)
        self.address = (host, port)
        self.uuid = uuid.UUID(uuid_text)
        self._writer: asyncio.StreamWriter | None = None
        self._dtmf: collections.deque[str] = collections.deque()
        self.kind = AUDIOSOCKET_KIND[fmt]

    async def connect(self) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.address), 2.0)
        self._writer = writer
        writer.write(struct.pack(">BH", 0x01, 16) + self.uuid.bytes)
        self.pbx.spawn(self.channel_id, self._read(reader), name=f"sim-audiosocket-{self.channel_id}")

    def queue_dtmf(self, digit: str) -> None:
        self._dtmf.append(digit)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header = await reader.readexactly(3)
                kind, length = struct.unpack(">BH", header)
                payload = await reader.readexactly(length) if length else b""
                if kind == 0x00:
                    break
                if kind not in range(0x10, 0x19) or length == 0:
                    log.warning("simulator: AudioSocket kind 0x%02x from the agent kills the call", kind)
                    break
                if self.audio_frames >= 4:
                    self.lost_frames += 1  # no jitter buffer: bursts are lost
                    continue
                self.playout.append(payload)
                self.audio_frames += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        await self.pbx.media_socket_closed(self, 1000)

    async def tick(self) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        out = self._exchange(self._play_one())
        while self._dtmf:
            writer.write(struct.pack(">BH", 0x03, 1) + self._dtmf.popleft().encode())
        if out is not None:
            writer.write(struct.pack(">BH", self.kind, len(out)) + out)

    async def close(self, code: int) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()


async def run_ticker(pbx: Pbx) -> None:
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while True:
        next_tick += 0.02
        delay = next_tick - loop.time()
        if delay < -0.2:  # we fell far behind (a stalled loop): skip ahead, do not burst
            next_tick = loop.time()
        await asyncio.sleep(max(0.0, delay))
        pbx.served.clear()
        pbx.tick_count += 1
        for link in list(pbx.media_links.values()):
            await link.tick()
        for session in pbx.answered.values():
            if session not in pbx.served:
                session.next_frame()  # a callee talks on even when nobody listens
