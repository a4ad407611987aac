"""AudioSocket media (asterisk-ari.md §3): Asterisk connects to our TCP server.

Frame = kind:u8 | length:u16 big-endian | payload. Asterisk neither paces nor
buffers what we send, so the pacer writes exactly one 20 ms frame every 20 ms
from a monotonic clock (silence when the agent has nothing to say). On the same
tick it hands the agent silence while Asterisk sends no callee audio (media_gaps:
it sends nothing while the callee is quiet, as over chan_websocket). We only
ever send audio (0x10-0x18) or hangup (0x00): any other kind kills the call.
AudioSocket only labels slin formats correctly, so a ulaw call is carried as
8 kHz slin and transcoded here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.event_queue import events_until
from engine.ports.telephony import AudioFormat, AudioReceived, DtmfReceived, MarkPlayed, MediaClosed, MediaEvent

from .g711 import pcm16_to_ulaw, ulaw_to_pcm16
from .media_gaps import SilenceGaps
from .outbound_call import AriCall

log = logging.getLogger(__name__)

KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_ERROR = 0x00, 0x01, 0x03, 0xFF
KIND_SLIN, KIND_SLIN16 = 0x10, 0x12
FRAME_S = 0.02
MAX_LAG_S = 0.1  # further behind than this, the pacer skips ahead instead of bursting


def frame_message(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BH", kind, len(payload)) + payload


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    kind, length = struct.unpack(">BH", await reader.readexactly(3))
    return kind, (await reader.readexactly(length) if length else b"")


class _Mark:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class AudioSocketMediaStream:
    def __init__(
        self,
        call_id: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fmt: AudioFormat,
        on_closed: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.call_id = call_id
        self.format = fmt
        self._reader, self._writer = reader, writer
        self._on_closed = on_closed
        self._clock = clock
        self._kind = KIND_SLIN if fmt is AudioFormat.ULAW else KIND_SLIN16
        self._frame = 320 if fmt is AudioFormat.ULAW else 640  # wire bytes per 20 ms
        self._silence = bytes(self._frame)
        self._queue: collections.deque[bytes | _Mark] = collections.deque()
        self._partial = b""
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._closed = False
        self.frames_sent = 0
        self._gaps = SilenceGaps(fmt, clock.monotonic())
        self._tasks = [
            asyncio.create_task(self._pace(), name=f"audiosocket-pacer-{call_id}"),
            asyncio.create_task(self._read(), name=f"audiosocket-reader-{call_id}"),
        ]

    async def send_audio(self, audio: bytes) -> None:
        if self.format is AudioFormat.ULAW:
            audio = ulaw_to_pcm16(audio)
        data = self._partial + audio
        usable = len(data) - len(data) % self._frame
        self._partial = data[usable:]
        self._queue.extend(data[i : i + self._frame] for i in range(0, usable, self._frame))

    async def mark(self, name: str) -> None:
        self._queue.append(_Mark(name))

    async def flush(self) -> None:
        self._queue.clear()  # queued marks go too, as with chan_websocket's FLUSH_MEDIA
        self._partial = b""

    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until(self._events, MediaClosed)

    def tell(self, event: Any) -> None:
        """An event of the call from elsewhere (the owner's leg) to the agent, in order with ours."""
        if not self._closed:
            self._events.put_nowait(event)

    async def close(self, reason: str = "closed") -> None:
        if not self._closed and not self._writer.is_closing():
            self._writer.write(frame_message(KIND_HANGUP))
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writer.close()
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._events.put_nowait(MediaClosed(reason))
            self._on_closed(reason)

    def _next_frame(self) -> bytes:
        while self._queue and isinstance(self._queue[0], _Mark):
            self._events.put_nowait(MarkPlayed(self._queue.popleft().name))  # type: ignore[union-attr]
        if not self._queue:
            return self._silence
        return self._queue.popleft()  # type: ignore[return-value]

    async def _pace(self) -> None:
        due = self._clock.monotonic()
        while not self._writer.is_closing():
            frame = self._next_frame()
            self._writer.write(frame_message(self._kind, frame))
            self.frames_sent += 1
            silence = self._gaps.due(self._clock.monotonic())
            if silence is not None:
                self._events.put_nowait(AudioReceived(silence))
            due += FRAME_S
            lag = self._clock.monotonic() - due
            if lag > MAX_LAG_S:
                log.warning("call %s: AudioSocket pacer %.0f ms late; skipping ahead", self.call_id, lag * 1000)
                due = self._clock.monotonic()
            await self._clock.sleep(due - self._clock.monotonic())

    async def _read(self) -> None:
        reason = "AudioSocket closed by the PBX"
        try:
            while True:
                kind, payload = await read_message(self._reader)
                if kind == KIND_HANGUP:
                    break
                if kind == KIND_DTMF:
                    self._events.put_nowait(DtmfReceived(payload.decode(errors="replace")))
                elif 0x10 <= kind <= 0x18:
                    self._gaps.heard(self._clock.monotonic())
                    audio = pcm16_to_ulaw(payload) if self.format is AudioFormat.ULAW else payload
                    self._events.put_nowait(AudioReceived(audio))
                elif kind == KIND_ERROR:
                    log.warning("call %s: AudioSocket error message from the PBX", self.call_id)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not self._closed:
                self._tasks[0].cancel()
                self._finish(reason)


class AudioSocketConnector:
    """Our AudioSocket TCP server; each call waits for the connection carrying its UUID."""

    def __init__(self, bind: str, advertise_host: str, fmt: AudioFormat, clock: Clock = SYSTEM_CLOCK) -> None:
        host, _, port = bind.rpartition(":")
        self._bind = (host or "127.0.0.1", int(port or 0))
        self._advertise = advertise_host or self._bind[0]
        self.format = fmt
        self._clock = clock
        self._server: asyncio.Server | None = None
        self._waiting: dict[uuid.UUID, asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, *self._bind)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket server listening on %s:%d", self._bind[0], self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def open(self, call: AriCall) -> AudioSocketMediaStream:
        token = uuid.uuid4()
        call.ids.secrets.add(str(token))
        arrived = asyncio.get_running_loop().create_future()
        self._waiting[token] = arrived
        try:
            await call.ctx.rest.external_media(
                call.ctx.app,
                call.ids.media,
                "slin" if self.format is AudioFormat.ULAW else "slin16",
                transport="tcp",
                encapsulation="audiosocket",
                external_host=f"{self._advertise}:{self.port}",
                data=str(token),
            )
            reader, writer = await arrived
        finally:
            self._waiting.pop(token, None)
        return AudioSocketMediaStream(call.call_id, reader, writer, self.format, call.media_closed, self._clock)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            kind, payload = await asyncio.wait_for(read_message(reader), 5)
            token = uuid.UUID(bytes=payload) if kind == KIND_UUID and len(payload) == 16 else None
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            token = None
        waiting = self._waiting.get(token) if token else None
        if waiting is None or waiting.done():
            log.warning("AudioSocket connection without a call waiting for it; closed")
            with contextlib.suppress(ConnectionError):
                writer.write(frame_message(KIND_HANGUP))
            writer.close()
            return
        waiting.set_result((reader, writer))
