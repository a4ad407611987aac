"""Asterisk sends nothing while the callee is quiet (chan_websocket and AudioSocket alike);
the agent must still hear silence."""

import asyncio

from ari_apps.audiosocket import AudioSocketMediaStream, frame_message
from ari_apps.media_websocket import WebSocketMediaStream
from engine.ports.telephony import AudioFormat, AudioReceived
from tests.clock import SteppingClock

from .fakes import StampingWriter, collect_until


class QuietSocket:
    """A media socket on which Asterisk sends nothing, as during a Local callee's WaitForNoise."""

    closed = False
    close_code = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


async def test_a_gap_in_the_callee_audio_reaches_the_agent_as_silent_frames():
    stream = WebSocketMediaStream("c1", QuietSocket(), AudioFormat.ULAW, lambda reason: None)
    events = await collect_until(stream, lambda seen: len(seen) >= 5, timeout=2)
    assert all(isinstance(e, AudioReceived) and e.audio == b"\xff" * 160 for e in events)
    await stream.close()


async def _audiosocket_events(fmt: AudioFormat, inbound: bytes, ticks: int) -> tuple[list, int]:
    """Run an AudioSocket stream for `ticks` pacer ticks of an injected clock, with `inbound`
    waiting to be read from Asterisk; the events the agent got and the ticks run."""
    clock = SteppingClock()
    writer = StampingWriter(clock)
    reader = asyncio.StreamReader()
    reader.feed_data(inbound)
    stream = AudioSocketMediaStream("c1", reader, writer, fmt, lambda reason: None, clock)
    while stream.frames_sent < ticks:
        await asyncio.sleep(0)  # yield to the pacer; time moves only on its sleeps
    writer.closing = True
    await stream.close()
    return [e for e in [e async for e in stream.events()] if isinstance(e, AudioReceived)], stream.frames_sent


async def test_audiosocket_hands_the_agent_silence_after_100_ms_without_callee_audio():
    events, ticks = await _audiosocket_events(AudioFormat.ULAW, b"", 20)
    assert [e.audio for e in events] == [b"\xff" * 160] * (ticks - 5)  # from the sixth tick on


async def test_audiosocket_callee_audio_holds_the_silence_back():
    speech = frame_message(0x12, b"\x10\x20" * 320)
    events, ticks = await _audiosocket_events(AudioFormat.SLIN16, speech, 20)
    assert events[0].audio == b"\x10\x20" * 320
    # Read during the first 20 ms tick, it holds the silence back until the seventh.
    assert [e.audio for e in events[1:]] == [bytes(640)] * (ticks - 6)
