"""Asterisk sends nothing while the callee is quiet (chan_websocket and AudioSocket alike);
the agent must still hear silence."""

import asyncio
from types import SimpleNamespace

from ari_apps.audiosocket import AudioSocketMediaStream, frame_message
from ari_apps.media_websocket import WebSocketMediaStream
from engine.ports.telephony import AudioFormat, AudioReceived
from tests.clock import SteppingClock

from .fakes import StampingWriter, collect_until


class QuietSocket:
    """A media socket on which Asterisk sends nothing, as during a Local callee's WaitForNoise."""

    closed = False
    close_code = None
    _writer = SimpleNamespace(transport=asyncio.WriteTransport())  # where aiohttp keeps it; nothing is written

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


async def test_a_gap_in_the_callee_audio_reaches_the_agent_as_silent_frames():
    stream = WebSocketMediaStream("c1", QuietSocket(), AudioFormat.ULAW, lambda reason: None)
    events = await collect_until(stream, lambda seen: sum(len(e.audio) for e in seen) >= 5 * 160, timeout=2)
    assert all(isinstance(e, AudioReceived) and e.audio == b"\xff" * len(e.audio) for e in events)
    assert all(len(e.audio) % 160 == 0 for e in events)  # whole frames
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


async def test_a_gap_yields_one_silent_frame_per_20_ms_never_ahead_and_at_most_60_ms_behind():
    from ari_apps.media_gaps import SilenceGaps
    from tests.clock import ManualClock

    clock = ManualClock()
    gaps = SilenceGaps(AudioFormat.ULAW, clock.monotonic())
    frames: list[float] = []  # when each silent frame was handed over
    runner = asyncio.create_task(
        gaps.run(clock, lambda silence: frames.extend([clock.monotonic()] * (len(silence) // 160)))
    )
    try:
        for step in range(1, 101):  # one second in 10 ms steps; the callee talks 0.40-0.50 s
            await clock.wait_sleepers(1)
            clock.advance(0.01)
            now = step / 100
            if 0.40 <= now <= 0.50:
                gaps.heard(now)
            await asyncio.sleep(0)
            first_gap = [t for t in frames if t < 0.45]
            due_first = min(now, 0.40) - 0.1
            ticks_due = int(due_first / 0.02 + 1e-6) + 1 if due_first > -1e-6 else 0  # one at the gap's start
            assert len(first_gap) <= ticks_due  # never ahead of the gap's length
            if now < 0.40:
                assert len(first_gap) >= ticks_due - 3  # at most 60 ms behind
        assert not [t for t in frames if 0.42 <= t < 0.60]  # audio flowed: no silence until 100 ms after it
        second_gap = [t for t in frames if t >= 0.60]
        assert round((1.0 - 0.6) / 0.02) + 1 - 3 <= len(second_gap) <= round((1.0 - 0.6) / 0.02) + 1
    finally:
        runner.cancel()


async def test_one_ticker_fills_every_streams_gap_and_stops_with_the_last_stream():
    from ari_apps.media_gaps import SilenceGaps, SilenceTicker
    from tests.clock import ManualClock

    clock = ManualClock()
    ticker = SilenceTicker(clock)
    quiet, talking = SilenceGaps(AudioFormat.ULAW, 0.0), SilenceGaps(AudioFormat.ULAW, 0.0)
    frames: dict[str, list[float]] = {"quiet": [], "talking": []}

    def emit_to(name):
        return lambda silence: frames[name].extend([clock.monotonic()] * (len(silence) // 160))

    ticker.add(quiet, emit_to("quiet"))
    ticker.add(talking, emit_to("talking"))
    try:
        for step in range(1, 51):  # half a second in 10 ms steps; one callee talks throughout
            await clock.wait_sleepers(1)
            clock.advance(0.01)
            talking.heard(step / 100)
            await asyncio.sleep(0)
            due = int((step / 100 - 0.1) / 0.02 + 1e-6) + 1 if step >= 10 else 0  # a frame at the gap's start
            assert due - 3 <= len(frames["quiet"]) <= due  # never ahead, at most 60 ms behind
        assert frames["talking"] == []
        ticker.remove(quiet)
        handed = len(frames["quiet"])
        for _ in range(10):
            await clock.wait_sleepers(1)  # still ticking for the talking stream
            clock.advance(0.06)
            await asyncio.sleep(0)
        assert len(frames["quiet"]) == handed  # nothing after its stream left
    finally:
        await ticker.close()
