"""MediaStream over chan_websocket (`/media/<connection id>`, JSON control messages).

Asterisk paces what we send, so agent audio is written as soon as it comes,
in frame-aligned messages of at most 65,500 bytes (Asterisk closes the socket with
1009 on a frame over 65,535 bytes, header included; a trailing partial frame would be
dropped). aiohttp opened the socket and reads it; one `FrameWriter` writes our messages
straight to its transport, those of one loop iteration in one write (no task, no future
per message). Audio the writer cannot take yet waits in `_outbox`: MEDIA_XOFF holds it
back until MEDIA_XON, and so does a transport that still holds 64 KB unsent (looked at
again every 20 ms meanwhile); `flush()` drops it. Commands never wait: a FLUSH_MEDIA
(barge-in) or HANGUP goes out at once, and a mark waits only for the audio queued before
it. Control events from Asterisk are dispatched through a table.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.telephony import AudioFormat, AudioReceived, DtmfReceived, MarkPlayed, MediaClosed, MediaEvent
from engine.websocket_writer import FrameWriter

from .media_gaps import SilenceGaps, SilenceTicker

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 65_500  # res_http_websocket: header (8 bytes from a client) + payload <= 65,535
BACKED_UP_RETRY_S = 0.02


class MediaTimings:
    """Optional per-frame latency samples (seconds spent inside our code), for benchmarks."""

    def __init__(self) -> None:
        self.inbound: list[float] = []
        self.outbound: list[float] = []

    def written(self, audio: bytes, queued: float) -> None:
        """Agent audio written to the socket (`queued`: when `send_audio` took it)."""
        self.outbound.append(time.perf_counter() - queued)


class WebSocketMediaStream:
    def __init__(
        self,
        call_id: str,
        ws: aiohttp.ClientWebSocketResponse,
        fmt: AudioFormat,
        on_closed: Callable[[str], None],
        timings: MediaTimings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        ticker: SilenceTicker | None = None,  # shared by the adapter's streams; None: a timer of our own
    ) -> None:
        self.call_id = call_id
        self.format = fmt
        self._ws = ws
        self._on_closed = on_closed
        self._timings = timings
        self._frame = fmt.frame_bytes
        self._chunk = MAX_MESSAGE_BYTES - MAX_MESSAGE_BYTES % self._frame
        self._partial = b""
        self._outbox: collections.deque[tuple[bytes | str, float]] = collections.deque()  # waits for the writer
        self._frames = FrameWriter(ws._writer.transport, masked=True, is_open=lambda: not ws.closed)
        self._retry: asyncio.TimerHandle | None = None  # while the transport is backed up
        self._xon = asyncio.Event()
        self._xon.set()
        self._events: asyncio.Queue[tuple[MediaEvent, float]] = asyncio.Queue()
        self._sink: Callable[[MediaEvent], None] | None = None  # set by deliver_to: no queue, no reader
        self._closed = False
        self._clock = clock
        self.audio_messages = 0  # binary messages the PBX sent (the silence media_gaps fills in excluded)
        self._gaps = SilenceGaps(fmt, clock.monotonic())
        self._ticker = ticker
        self._tasks = [asyncio.create_task(self._read(), name=f"media-ws-reader-{call_id}")]
        if ticker is not None:
            ticker.add(self._gaps, self._emit_silence)
        else:
            gaps = asyncio.create_task(self._gaps.run(clock, self._emit_silence), name=f"media-ws-gaps-{call_id}")
            self._tasks.append(gaps)
        self._control: dict[str, Callable[[dict[str, Any]], None]] = {
            "MEDIA_MARK_PROCESSED": lambda m: self._emit(MarkPlayed(str(m.get("correlation_id", "")))),
            "DTMF_END": lambda m: self._emit(DtmfReceived(str(m.get("digit", "")))),
            "MEDIA_XOFF": lambda m: self._xon.clear(),
            "MEDIA_XON": lambda m: self._on_xon(),
            "MEDIA_START": lambda m: None,
            "STATUS": lambda m: None,
            "QUEUE_DRAINED": lambda m: None,
            "MEDIA_BUFFERING_COMPLETED": lambda m: None,
            "ERROR": lambda m: log.warning("call %s: media channel error: %s", call_id, m.get("error_text")),
        }

    # --- MediaStream ------------------------------------------------------------

    async def send_audio(self, audio: bytes) -> None:
        if self._closed:
            return
        data = self._partial + audio
        usable = len(data) - len(data) % self._frame
        self._partial = data[usable:]
        now = time.perf_counter()
        for start in range(0, usable, self._chunk):
            self._outbox.append((data[start : min(usable, start + self._chunk)], now))
        self._write()

    async def mark(self, name: str) -> None:
        if not self._closed:
            self._outbox.append(('{"command":"MARK_MEDIA","correlation_id":' + json.dumps(name) + "}", 0.0))
            self._write()

    async def flush(self) -> None:
        self._outbox.clear()
        self._partial = b""
        self._command({"command": "FLUSH_MEDIA"})

    def deliver_to(self, sink: Callable[[MediaEvent], None]) -> None:
        """Hand every event to `sink` as it arrives instead of queueing it for `events()` (the ones
        queued so far first, in order): one queue hop and one task wake-up fewer per frame."""
        while not self._events.empty():
            sink(self._events.get_nowait()[0])
        self._sink = sink

    async def events(self) -> AsyncIterator[MediaEvent]:
        while True:
            event, received = await self._events.get()
            if self._timings is not None and isinstance(event, AudioReceived):
                self._timings.inbound.append(time.perf_counter() - received)
            yield event
            if isinstance(event, MediaClosed):
                return

    # --- owned by the call ----------------------------------------------------------

    def tell(self, event: Any) -> None:
        """An event of the call from elsewhere (the owner's leg) to the agent, in order with ours."""
        if not self._closed:
            self._emit(event)

    async def hangup(self) -> None:
        """Ask Asterisk to hang the media channel up, then close the socket."""
        self._command({"command": "HANGUP"})
        await self.close("hung up")

    async def close(self, reason: str = "closed") -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._frames.flush()  # a HANGUP goes out before aiohttp's close frame
        self._stop_writer_and_gaps()
        if not self._ws.closed:
            await self._ws.close()
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._emit(MediaClosed(reason))
            self._on_closed(reason)

    def _command(self, command: dict[str, str]) -> None:
        """A command that waits for nothing."""
        if not self._closed:
            self._frames.text(json.dumps(command))

    def _on_xon(self) -> None:
        self._xon.set()
        self._write()

    def _emit(self, event: MediaEvent) -> None:
        if self._sink is not None:
            self._sink(event)
        else:
            self._events.put_nowait((event, time.perf_counter()))

    def _write(self) -> None:
        """Hand the writer what may go now, in order: audio stops at MEDIA_XOFF or a backed-up
        transport (and the marks queued after it wait with it)."""
        self._retry = None
        outbox, frames = self._outbox, self._frames
        while outbox:
            item, queued = outbox[0]
            if type(item) is bytes:
                if not self._xon.is_set():
                    return  # MEDIA_XON or a flush looks again
                if frames.backed_up:
                    if self._retry is None and not self._closed:
                        self._retry = asyncio.get_running_loop().call_later(BACKED_UP_RETRY_S, self._write)
                    return
                frames.binary(item)
                if self._timings is not None:  # once the writer has written it (its flush is scheduled first)
                    asyncio.get_running_loop().call_soon(self._timings.written, item, queued)
            else:
                frames.text(item)
            outbox.popleft()

    def _stop_writer_and_gaps(self) -> None:
        if self._ticker is not None:
            self._ticker.remove(self._gaps)
        self._frames.close()
        self._outbox.clear()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    async def _read(self) -> None:
        reason = "media socket closed by the PBX"
        try:
            async for msg in self._ws:
                if msg.type is aiohttp.WSMsgType.BINARY:
                    self.audio_messages += 1
                    self._gaps.heard(self._clock.monotonic())
                    self._emit(AudioReceived(msg.data))
                elif msg.type is aiohttp.WSMsgType.TEXT:
                    self._control_message(msg.data)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    reason = "media socket error"
                    break
        finally:
            if not self._closed:
                for task in self._tasks:
                    if task is not asyncio.current_task():
                        task.cancel()
                self._stop_writer_and_gaps()
                self._finish(f"{reason} (code {self._ws.close_code})")

    def _emit_silence(self, silence: bytes) -> None:
        """Asterisk sends nothing while the callee is quiet; the agent hears silence (media_gaps)."""
        self._emit(AudioReceived(silence))

    def _control_message(self, text: str) -> None:
        try:
            message = json.loads(text)
            handler = self._control.get(message.get("event"))
        except (ValueError, AttributeError):
            log.warning("call %s: unreadable media control message skipped", self.call_id)
            return
        if handler is None:
            log.info("call %s: unknown media event %r skipped", self.call_id, message.get("event"))
            return
        handler(message)
