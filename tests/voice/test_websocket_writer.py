"""The frame writer's frames, read back by the `websockets` library's own parser (RFC 6455 §5)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.frames import OP_BINARY, OP_TEXT, Frame
from websockets.streams import StreamReader

from engine.websocket_writer import FrameWriter


class RecordingTransport(asyncio.WriteTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


def parse_all(data: bytes, *, masked: bool) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=masked, extensions=[])
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


@pytest.mark.parametrize("masked", [True, False])
async def test_frames_of_every_length_class_parse_back_in_order_from_one_write(masked: bool) -> None:
    transport = RecordingTransport()
    writer = FrameWriter(transport, masked=masked, is_open=lambda: True)
    # lengths in 7 bits, in 16 bits (126 and up), in 64 bits (65,536 and up)
    payloads = [b"\x01" * 125, b"\xff" * 126, bytes(range(256)) * 256, b"\x7f" * 65_500]
    writer.text('{"type":"input_audio_buffer.append","audio":"AAAA"}')
    for payload in payloads:
        writer.binary(payload)
    assert transport.writes == []  # nothing until the loop iteration ends
    await asyncio.sleep(0)
    assert len(transport.writes) == 1
    frames = parse_all(transport.writes[0], masked=masked)
    assert [(f.opcode, f.fin, f.data) for f in frames] == [
        (OP_TEXT, True, b'{"type":"input_audio_buffer.append","audio":"AAAA"}'),
        *[(OP_BINARY, True, p) for p in payloads],
    ]


async def test_a_masked_frame_does_not_carry_its_payload_in_clear() -> None:
    transport = RecordingTransport()
    writer = FrameWriter(transport, masked=True, is_open=lambda: True)
    writer.binary(b"secret audio" * 10)
    writer.flush()
    assert b"secret audio" not in transport.writes[0]


async def test_nothing_is_written_once_the_socket_closes_or_the_writer_is_closed() -> None:
    transport = RecordingTransport()
    open_ = [True]
    writer = FrameWriter(transport, masked=True, is_open=lambda: open_[0])
    writer.text("one")
    open_[0] = False  # a close frame went out meanwhile: no data frame may follow it
    writer.flush()
    writer.close()
    writer.text("two")
    await asyncio.sleep(0)
    assert transport.writes == []
