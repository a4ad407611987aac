"""A test call: the owner's browser is the callee, over the web app's socket instead of Asterisk's.

`BrowserCall` is an `OutboundCall` answered at once; its `BrowserMediaStream` speaks what
chan_websocket speaks (20 ms μ-law frames, `FLUSH_MEDIA`), so the agent session runs unchanged.
The browser does not pace, so this stream does: one frame per 20 ms on the injected clock, and a
mark counts as played once every frame before it was sent (the page plays with a 60 ms buffer).
DTMF the agent sends is shown to the owner (`{"event": "DTMF_SENT"}`); when the test call is over the
page is told why (`{"event": "ENDED", "detail": ...}`) and the socket is closed.
The web app feeds it (`received_audio`, `received_dtmf`, `closed`) and gives it `send` to write with.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.event_queue import events_until
from engine.ports.telephony import (
    AudioFormat,
    AudioReceived,
    CallOutcome,
    DtmfReceived,
    MarkPlayed,
    MediaClosed,
    MediaEvent,
    TelephonyResult,
)

FRAME_S = 0.02
Send = Callable[[bytes | str], Awaitable[None]]


class BrowserMediaStream:
    def __init__(self, send: Send, clock: Clock, fmt: AudioFormat = AudioFormat.ULAW, call_id: str = "") -> None:
        self.format = fmt
        self._send = send
        self._clock = clock
        self._frame = fmt.frame_bytes
        self._partial = b""
        self._queue: collections.deque[bytes | str] = collections.deque()  # frames, and mark names
        self._ready = asyncio.Event()
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._closed = False
        self._pacer = asyncio.create_task(self._pace(), name=f"test-call-pacer-{call_id}")

    async def send_audio(self, audio: bytes) -> None:
        data = self._partial + audio
        usable = len(data) - len(data) % self._frame
        self._partial = data[usable:]
        self._queue.extend(data[i : i + self._frame] for i in range(0, usable, self._frame))
        self._ready.set()

    async def mark(self, name: str) -> None:
        self._queue.append(name)
        self._ready.set()

    async def flush(self) -> None:
        self._queue.clear()  # queued marks go too, as with chan_websocket
        self._partial = b""
        if not self._closed:
            await self._send(json.dumps({"command": "FLUSH_MEDIA"}))

    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until(self._events, MediaClosed)

    # --- fed by the web socket ---------------------------------------------------------

    def received_audio(self, frame: bytes) -> None:
        if not self._closed:
            self._events.put_nowait(AudioReceived(frame))

    def received_dtmf(self, digit: str) -> None:
        if not self._closed and digit in "0123456789*#" and len(digit) == 1:
            self._events.put_nowait(DtmfReceived(digit))

    def closed(self, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._pacer.cancel()
            self._events.put_nowait(MediaClosed(reason))

    async def _pace(self) -> None:
        next_at = self._clock.monotonic()
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                next_at = max(next_at, self._clock.monotonic())
            item = self._queue.popleft()
            if isinstance(item, str):
                self._events.put_nowait(MarkPlayed(item))
                continue
            await self._send(item)
            next_at += FRAME_S
            due_in = next_at - self._clock.monotonic()
            if due_in > 0:  # behind (the page was slow to take a frame): the next one goes at once
                await self._clock.sleep(due_in)


class BrowserCall:
    """`OutboundCall` whose callee is the owner's browser; answered as soon as it exists."""

    def __init__(self, call_id: str, send: Send, clock: Clock = SYSTEM_CLOCK) -> None:
        self.call_id = call_id
        self.clock = clock
        self._send = send
        self.answered_at = clock.now()
        self._media = BrowserMediaStream(send, clock, call_id=call_id)
        self._done: asyncio.Future[TelephonyResult] = asyncio.get_running_loop().create_future()
        self.hangup_by = "callee"

    @property
    def media(self) -> BrowserMediaStream:
        return self._media

    async def show_ended(self, detail: str) -> None:
        """Tell the page the test call is over and why (`{"event": "ENDED", "detail": ...}`), if it is still there."""
        try:
            await self._send(json.dumps({"event": "ENDED", "detail": detail}))
        except Exception:  # noqa: BLE001 - the page may be gone already
            pass

    async def answered(self) -> bool:
        return True

    async def send_dtmf(self, digits: str) -> None:
        await self._send(json.dumps({"event": "DTMF_SENT", "digits": digits}))

    async def hangup(self, reason: str = "normal") -> None:
        if not self._done.done():
            self.hangup_by = "agent"
            with_reason = json.dumps({"event": "HANGUP", "reason": reason})
            try:
                await self._send(with_reason)
            except Exception:  # noqa: BLE001 - the page may be gone already
                pass
        self.ended("the agent hung up")

    def ended(self, detail: str) -> None:
        """The page left or the agent hung up: the call is over."""
        self._media.closed(detail)
        if not self._done.done():
            self._done.set_result(TelephonyResult(
                CallOutcome.ANSWERED, answered_at=self.answered_at, ended_at=self.clock.now(),
                hangup_by=self.hangup_by, detail=detail,
            ))  # fmt: skip

    async def finished(self) -> TelephonyResult:
        return await asyncio.shield(self._done)
