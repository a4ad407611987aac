"""Call scenarios through the adapter, against the simulator (and a real Asterisk when configured)."""

import asyncio
import uuid

import pytest

from ari_apps.adapter import AriTelephony
from ari_apps.rest_client import AriError
from engine.ports.telephony import AudioReceived, CallOutcome, DialRequest, DtmfReceived, MarkPlayed

from .fakes import collect_until


def new_id() -> str:
    return str(uuid.uuid4())


async def wait_for_variable(telephony: AriTelephony, channel_id: str, name: str, value: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if await telephony._rest.get_variable(channel_id, name) == value:
                return
        except AriError as exc:
            if exc.status != 404:  # 404: not set yet
                raise
        assert loop.time() < deadline, f"{name} never became {value!r} on {channel_id}"
        await asyncio.sleep(0.25)


async def assert_nothing_left(telephony: AriTelephony, target, call_id: str) -> None:
    # Asterisk destroys the Local ;2 half (<id>-callee) a moment after our leg, on its own.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while True:
        channels = [c["id"] for c in await telephony._rest.list_channels() if c["id"].startswith(call_id)]
        bridges = [b["id"] for b in await telephony._rest.list_bridges() if b["id"].startswith(call_id)]
        if (not channels and not bridges) or loop.time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert channels == []
    assert bridges == []
    if target.sim:
        assert target.sim.leftovers() == {"channels": [], "bridges": []}
    assert call_id not in await telephony.live_call_ids()


@pytest.mark.parametrize(
    "persona, outcome, cause",
    [
        ("busy", CallOutcome.BUSY, 17),
        ("congestion", CallOutcome.CONGESTION, 34),
        ("noanswer", CallOutcome.NO_ANSWER, 19),
        ("unallocated", CallOutcome.UNALLOCATED, 1),
        ("rejected", CallOutcome.REJECTED, 21),
        ("unavailable", CallOutcome.UNAVAILABLE, 20),
    ],
)
async def test_unanswered_outcomes(persona, outcome, cause, target, telephony, sink):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint(persona), ring_timeout_s=4))
    assert await call.answered() is False
    result = await call.finished()
    assert (result.outcome, result.q850_cause, result.answered_at) == (outcome, cause, None)
    assert "ChannelDestroyed" in sink.event_types(call_id)
    await assert_nothing_left(telephony, target, call_id)


async def test_echo_call_round_trips_audio_marks_and_hangs_up(target, telephony, sink):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo"), caller_id='"OpenDeep" <100>'))
    assert await call.answered() is True
    media = call.media
    utterance = bytes(range(1, 161)) * 25  # half a second of non-silent ulaw
    await media.send_audio(utterance)
    await media.mark("utterance-1")
    events = await collect_until(media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    assert [e.name for e in events if isinstance(e, MarkPlayed)] == ["utterance-1"]
    assert all(len(e.audio) == 160 for e in events if isinstance(e, AudioReceived))
    if target.sim:
        assert bytes(target.sim.callee(call_id).heard).startswith(utterance)
    await call.hangup()
    result = await call.finished()
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "agent", 16)
    kinds = sink.kinds(call_id)
    assert kinds.index("answered") < kinds.index("media_connected") < kinds.index("ending") < kinds.index("ended")
    assert sink.event_types(call_id).count("StasisStart") == 2  # our leg, then the media channel
    await assert_nothing_left(telephony, target, call_id)


async def test_callee_hangs_up_mid_call(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("answer-play-hangup")))
    assert await call.answered() is True
    result = await call.finished()
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_dtmf_both_ways(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("dtmf")))
    assert await call.answered() is True
    events = await collect_until(
        call.media, lambda seen: [e.digit for e in seen if isinstance(e, DtmfReceived)] == list("123#"), timeout=10
    )
    assert [e.digit for e in events if isinstance(e, DtmfReceived)] == list("123#")
    await asyncio.sleep(0.5)  # until its Read() starts: on Asterisk a digit sent during SendDTMF is lost
    await call.send_dtmf("42")
    if target.sim:
        await target.sim.wait_until(lambda: target.sim.callee(call_id).digits == ["4", "2"])
    else:  # the callee's Read() stores what it got in GOT once its 5 s digit timeout runs out
        await wait_for_variable(telephony, f"{call_id}-callee", "GOT", "42", timeout=10)
    await call.hangup()
    await assert_nothing_left(telephony, target, call_id)


async def test_flush_drops_queued_agent_audio(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    burst = bytes([0x10]) * 160 * 250  # 5 s
    await call.media.send_audio(burst)
    await call.media.flush()
    await call.media.mark("after-flush")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    if target.sim:
        assert len(target.sim.callee(call_id).heard) < len(burst)
    await call.hangup()
    await assert_nothing_left(telephony, target, call_id)


async def test_whole_call_recording_can_be_downloaded(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo"), record=True))
    assert await call.answered() is True
    await call.media.send_audio(bytes([0x20]) * 160 * 10)
    await call.media.mark("m")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    result = await call.finished()
    assert result.recording == f"calls/{call_id}"
    wav = await telephony.fetch_recording(result.recording)
    assert wav[:4] == b"RIFF" and len(wav) > 44
    await assert_nothing_left(telephony, target, call_id)
