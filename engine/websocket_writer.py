"""One socket's writer of WebSocket data frames, straight to the transport (RFC 6455 §5).

The media path sends one small message per 20–40 ms per call in each direction. Through
a WebSocket library each message costs a coroutine, a send context or lock, a flow-control
check and a `socket.send`; here a frame is a header and a masked payload appended to a
list, and the frames of one loop iteration go out in one `transport.write`, scheduled once
(`call_soon`, no task, no future). The library that opened the socket keeps reading it
and answering pings; it must not be sent data messages too, or the order is lost.
`flush()` writes at once (before the library closes the socket, say).

Frames a client sends are masked with a fresh key each (§5.3; the key comes from
`random.getrandbits`, as aiohttp's own writer does).
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is built for the usual platforms
    from websockets.utils import apply_mask

TEXT, BINARY = 0x1, 0x2
_FIN = 0x80
_MASK_BIT = 0x80
BACKED_UP_BYTES = 64 * 1024  # the transport holds this much unsent: the peer is not keeping up


def frame_header(opcode: int, length: int, masked: bool) -> bytes:
    """The first bytes of a single-frame message (FIN set, no extension bits)."""
    mask_bit = _MASK_BIT if masked else 0
    if length < 126:
        return struct.pack("!BB", _FIN | opcode, mask_bit | length)
    if length < 65536:
        return struct.pack("!BBH", _FIN | opcode, mask_bit | 126, length)
    return struct.pack("!BBQ", _FIN | opcode, mask_bit | 127, length)


class FrameWriter:
    def __init__(self, transport: asyncio.WriteTransport, *, masked: bool, is_open: Callable[[], bool]) -> None:
        """`is_open` tells whether data frames may still go out (no close frame sent or received)."""
        self._transport = transport
        self._is_open = is_open
        self._masked = masked
        self._pending: list[bytes] = []
        self._scheduled = False
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._random_bits = random.getrandbits

    def text(self, data: str | bytes) -> None:
        self._add(TEXT, data.encode() if isinstance(data, str) else data)

    def binary(self, data: bytes) -> None:
        self._add(BINARY, data)

    @property
    def backed_up(self) -> bool:
        """The transport still holds a lot unsent (the peer reads slower than we write)."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending)) > BACKED_UP_BYTES

    def flush(self) -> None:
        """Write what is pending now, in one write."""
        self._scheduled = False
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if not self._closed and not self._transport.is_closing() and self._is_open():
            self._transport.write(data)

    def close(self) -> None:
        """Write nothing more (what is pending is dropped)."""
        self._closed = True
        self._pending.clear()

    def _add(self, opcode: int, payload: bytes) -> None:
        if self._closed:
            return
        if self._masked:
            mask = self._random_bits(32).to_bytes(4, "big")
            self._pending += (frame_header(opcode, len(payload), True), mask, apply_mask(payload, mask))
        else:
            self._pending += (frame_header(opcode, len(payload), False), payload)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)
