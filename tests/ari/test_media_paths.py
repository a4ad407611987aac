"""Audio and digits both ways on every media path, and the events socket going away mid-call.

Like test_calls.py, these run against the simulator and, when OPENDEEP_TEST_ARI_URL is
set, against a real Asterisk with the shipped extensions.conf.
"""

import asyncio

import pytest

from ari_apps.config import MediaSettings
from ari_apps.events_socket import SocketState
from engine.ports.telephony import AudioFormat, AudioReceived, CallOutcome, DialRequest, DtmfReceived, MarkPlayed

from .audio_checks import audible, is_tone, tone
from .fakes import collect_until
from .test_calls import assert_nothing_left, new_id

PATHS = [
    ("websocket", AudioFormat.ULAW),
    ("websocket", AudioFormat.SLIN16),
    ("audiosocket", AudioFormat.ULAW),
    ("audiosocket", AudioFormat.SLIN16),
]


@pytest.mark.parametrize("transport, fmt", PATHS, ids=[f"{t}-{f}" for t, f in PATHS])
async def test_we_hear_the_callee_and_it_echoes_what_we_say(transport, fmt, target, make_telephony):
    telephony = await make_telephony(media=MediaSettings(format=fmt, transport=transport))
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("dtmf-echo")))
    assert await call.answered() is True
    await call.media.send_audio(tone(fmt, 1000, 8.0))  # the callee prompts first, then keys 123#, then echoes

    def heard_digits_and_echo(seen) -> bool:
        digits = [e.digit for e in seen if isinstance(e, DtmfReceived)]
        echoed = sum(1 for e in seen if isinstance(e, AudioReceived) and is_tone(fmt, e.audio, 1000))
        return digits == list("123#") and echoed >= 10

    events = await collect_until(call.media, heard_digits_and_echo, timeout=12)
    audio = [e.audio for e in events if isinstance(e, AudioReceived)]
    first_echo = next(i for i, frame in enumerate(audio) if is_tone(fmt, frame, 1000))
    assert any(audible(fmt, frame) for frame in audio[:first_echo])  # the prompt, before any echo
    # The callee's frames are at most one 20 ms frame of whole samples; in the callee's gaps (real
    # chan_websocket sends nothing then) the adapter hands over whole silent frames, up to 60 ms at once.
    assert all(len(frame) % 2 == 0 and 0 < len(frame) for frame in audio)
    assert all(len(frame) <= fmt.frame_bytes or (len(frame) % fmt.frame_bytes == 0 and not audible(fmt, frame))
               for frame in audio)
    await call.media.flush()
    await call.hangup()
    result = await call.finished()
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "agent", 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_flush_cuts_a_long_utterance_at_once(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    await call.media.send_audio(tone(AudioFormat.ULAW, 1000, 5.0))
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    flushed_at = loop.time()
    await call.media.flush()
    await call.media.mark("after-flush")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    assert loop.time() - flushed_at < 1.0  # not the 4.7 s left of the utterance
    await call.hangup()
    await assert_nothing_left(telephony, target, call_id)


async def test_events_socket_dropped_mid_call_reconnects_and_the_call_goes_on(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    socket = telephony._socket
    before = socket.connections
    await socket._ws.close()  # the network drops our side of the socket
    await socket.wait_until(lambda: socket.connections > before and socket.is_up, timeout=10)
    await call.media.mark("still-here")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    result = await call.finished()
    assert (result.outcome, result.q850_cause) == (CallOutcome.ANSWERED, 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_callee_hanging_up_while_our_events_socket_is_down_is_noticed_on_reconnect(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    socket = telephony._socket
    url = socket._url
    socket._url = url.replace("/events", "/no-such-events")  # reconnection attempts fail (404) for now
    await socket._ws.close()
    await socket.wait_for_state(SocketState.DOWN, timeout=5)
    await target.callee_hangup(telephony._rest, call_id)  # nobody hears the events of this
    socket._url = url
    result = await asyncio.wait_for(call.finished(), 15)
    assert result.outcome is CallOutcome.ANSWERED and "events socket was down" in result.detail
    await assert_nothing_left(telephony, target, call_id)

