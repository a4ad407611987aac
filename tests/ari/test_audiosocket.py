"""AudioSocket: framing, strict pacing from an injected clock, and calls through the simulator."""

import asyncio
import uuid

import pytest

from ari_apps.audiosocket import AudioSocketMediaStream, frame_message, read_message
from ari_apps.config import MediaSettings
from ari_apps.g711 import pcm16_to_ulaw, ulaw_to_pcm16
from engine.ports.telephony import AudioFormat, AudioReceived, CallOutcome, DialRequest, DtmfReceived, MarkPlayed
from tests.clock import SteppingClock

from .fakes import StampingWriter, collect_until
from .telephony import ari_telephony


async def test_frame_round_trip():
    reader = asyncio.StreamReader()
    reader.feed_data(frame_message(0x12, b"\x01\x02" * 320) + frame_message(0x03, b"#"))
    assert await read_message(reader) == (0x12, b"\x01\x02" * 320)
    assert await read_message(reader) == (0x03, b"#")
    assert frame_message(0x00) == b"\x00\x00\x00"


async def test_pacer_sends_one_frame_every_20_ms_and_reports_marks_in_order():
    clock = SteppingClock()
    writer = StampingWriter(clock)
    reader = asyncio.StreamReader()
    stream = AudioSocketMediaStream("c1", reader, writer, AudioFormat.SLIN16, lambda reason: None, clock)
    await stream.send_audio(b"\x11" * 640 * 5 + b"\x22" * 100)  # 5 frames and a partial one
    await stream.mark("five")
    await stream.send_audio(b"\x22" * 540)  # completes the sixth frame
    events = []
    while len(writer.writes) < 10:
        await asyncio.sleep(0)
    writer.closing = True
    await stream.close()
    async for event in stream.events():
        events.append(event)
    times = [t for t, _ in writer.writes[:10]]
    assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [0.02] * 9
    kinds = {data[0] for _, data in writer.writes[:10]}
    assert kinds == {0x12}  # only audio, never anything Asterisk would hang up on
    payloads = [data[3:] for _, data in writer.writes[:7]]
    assert payloads[:5] == [b"\x11" * 640] * 5 and payloads[5] == b"\x22" * 640 and payloads[6] == bytes(640)
    assert isinstance(events[0], MarkPlayed) and events[0].name == "five"


async def test_flush_drops_queued_frames():
    clock = SteppingClock()
    writer = StampingWriter(clock)
    stream = AudioSocketMediaStream("c1", asyncio.StreamReader(), writer, AudioFormat.SLIN16, lambda r: None, clock)
    await stream.send_audio(b"\x33" * 640 * 50)
    await stream.flush()
    while len(writer.writes) < 3:
        await asyncio.sleep(0)
    writer.closing = True
    await stream.close()
    assert all(data[3:] == bytes(640) for _, data in writer.writes[1:3])


@pytest.mark.parametrize("fmt", [AudioFormat.SLIN16, AudioFormat.ULAW])
async def test_audiosocket_call_through_the_simulator(fmt, sim, sink):
    adapter = ari_telephony(sim, sink, media=MediaSettings(format=fmt, transport="audiosocket"))
    await adapter.start()
    try:
        call_id = str(uuid.uuid4())
        call = await adapter.originate(DialRequest(call_id, "Local/s@callee-dtmf-echo/n"))
        assert await call.answered()
        frame = fmt.frame_bytes
        speech = (pcm16_to_ulaw(b"\x00\x10" * 80) if fmt is AudioFormat.ULAW else b"\x00\x10" * 320) * 50
        await call.media.send_audio(speech)  # one second, sent at once: the pacer spreads it out
        await call.media.mark("said")
        events = await collect_until(
            call.media,
            lambda seen: any(isinstance(e, MarkPlayed) for e in seen)
            and [e.digit for e in seen if isinstance(e, DtmfReceived)] == list("123#"),
            timeout=15,
        )
        assert all(len(e.audio) == frame for e in events if isinstance(e, AudioReceived))
        link = sim.pbx.media_links[f"{call_id}-media"]
        assert link.lost_frames == 0
        # The mark means our last frame went out; the PBX plays it on its next tick: wait for
        # the silence that follows it before hanging up.
        assert await sim.callee(call_id).listen(until_silence_s=0.06, max_s=5, need_speech=False)
        await call.hangup()
        assert (await call.finished()).outcome is CallOutcome.ANSWERED
        heard = bytes(sim.callee(call_id).heard)
        wire = speech if fmt is AudioFormat.SLIN16 else ulaw_to_pcm16(speech)
        assert wire in heard
        assert sim.leftovers() == {"channels": [], "bridges": []}
    finally:
        await adapter.close()
