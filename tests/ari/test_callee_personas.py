"""The conversational test callees behave as their persona says, on the simulator and on Asterisk.

On a real Asterisk these are the contexts of asterisk/extensions.conf. chan_websocket sends
no frames at all while we are quiet, so "silence" there is the absence of audio; on the
simulator, persona pauses and timeouts run at 1/20 speed. The assertions allow for both.
"""

import asyncio
import itertools

from ari_apps.g711 import pcm16_to_ulaw
from ari_apps.simulator import audio
from engine.ports.telephony import AudioFormat, AudioReceived, CallOutcome, DialRequest, MediaClosed

from .audio_checks import audible, is_tone
from .fakes import collect_until
from .test_calls import assert_nothing_left, new_id

ULAW = AudioFormat.ULAW


def speech(seconds: float) -> bytes:
    return pcm16_to_ulaw(audio.speech(seconds, seed=21))


async def audible_times(stream, seconds: float) -> list[float]:
    """Arrival times (loop clock) of the audible frames received during `seconds`."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def _read() -> None:
        async for event in stream.events():
            if isinstance(event, AudioReceived) and audible(ULAW, event.audio):
                times.append(loop.time())

    try:
        await asyncio.wait_for(_read(), seconds)
    except TimeoutError:
        pass
    return times


async def first_audible(stream, timeout: float = 5.0) -> None:
    await collect_until(stream, lambda seen: isinstance(seen[-1], AudioReceived) and audible(ULAW, seen[-1].audio), timeout)


async def test_talker_greets_then_waits_for_us_and_replies(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("talker")))
    assert await call.answered() is True
    loop = asyncio.get_running_loop()
    greeting_from = loop.time()
    await first_audible(call.media)
    greeting = await audible_times(call.media, 3.0)
    assert greeting and greeting[-1] - greeting_from < 2.0  # one greeting, then it listens: no talking on its own
    await call.media.send_audio(speech(0.8))
    said_at = loop.time()
    reply = await audible_times(call.media, 3.5)
    assert [t for t in reply if t > said_at + 0.8]  # it answered after we had finished
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    await assert_nothing_left(telephony, target, call_id)


async def test_ivr_answers_a_digit_and_hangs_up_on_9(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("ivr")))
    assert await call.answered() is True
    await first_audible(call.media)  # the menu
    await call.send_dtmf("1")
    sent_at = asyncio.get_running_loop().time()
    option = await audible_times(call.media, 1.0)
    assert [t for t in option if t > sent_at] and not call.done
    await call.send_dtmf("9")
    result = await asyncio.wait_for(call.finished(), 8)
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_machine_greets_beeps_takes_a_message_and_hangs_up(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("machine")))
    assert await call.answered() is True
    events = await collect_until(
        call.media, lambda seen: sum(isinstance(e, AudioReceived) and is_tone(ULAW, e.audio, 1000) for e in seen) >= 10,
        timeout=12,
    )  # fmt: skip
    assert sum(isinstance(e, AudioReceived) and audible(ULAW, e.audio) for e in events) > 100  # the greeting
    await asyncio.sleep(0.4)
    await call.media.send_audio(speech(1.0))  # the message
    result = await asyncio.wait_for(call.finished(), 10)  # it hangs up 3 s after we stop
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_silence_then_talk_speaks_once_we_are_quiet_then_hangs_up(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("silence-then-talk")))
    assert await call.answered() is True
    await first_audible(call.media)
    result = await asyncio.wait_for(call.finished(), 6)
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    await assert_nothing_left(telephony, target, call_id)


async def test_record_keeps_what_we_say_and_hangs_up_when_we_stop(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("record")))
    assert await call.answered() is True
    before = {r["name"] for r in await telephony._rest.list_stored_recordings()}
    await call.media.send_audio(speech(1.0))
    result = await asyncio.wait_for(call.finished(), 8)
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    if target.sim:
        assert target.sim.callee(call_id).message  # (its 2 s of silence are 0.1 s here: our speech's pauses end it)
    else:
        new = {r["name"] for r in await telephony._rest.list_stored_recordings()} - before
        assert [name for name in new if name.startswith("callee-")]
    await assert_nothing_left(telephony, target, call_id)


SIT_HZ = (913.8, 1370.6, 1776.7)


async def test_answered_intercept_plays_sit_tones_then_an_announcement(target, telephony):
    """An "answered" dead number (traces/pjsip-answered-intercept): SIT tones, then speech, then cause 16."""
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("answered-intercept")))
    assert await call.answered() is True
    events = await collect_until(call.media, lambda seen: isinstance(seen[-1], MediaClosed), timeout=12)
    labels = [  # one per audible frame: the SIT tone it is, or "speech"
        next((hz for hz in SIT_HZ if is_tone(ULAW, e.audio, hz, share=0.8)), "speech")
        for e in events
        if isinstance(e, AudioReceived) and audible(ULAW, e.audio)
    ]
    runs = [(label, len(list(group))) for label, group in itertools.groupby(labels)]
    heard = [label for label, _ in itertools.groupby(label for label, n in runs if n >= 3)]  # 60 ms or more
    assert heard[:4] == [*SIT_HZ, "speech"]
    result = await asyncio.wait_for(call.finished(), 5)
    assert (result.outcome, result.hangup_by, result.q850_cause) == (CallOutcome.ANSWERED, "callee", 16)
    await assert_nothing_left(telephony, target, call_id)
