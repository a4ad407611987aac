"""Issue 12: the first seconds after the answer, as a real Asterisk delivers them on the media socket.

Three callees (asterisk/extensions.conf, the simulator's personas of the same names): one that
speaks first, a silent one and a voicemail with a beep. Measured on Asterisk 23.4.1
(chan_websocket, Local/ and a PJSIP trunk): the greeting's first audible frame arrives within a
second of the answer (0.52 s through Local/, 0.80 s through the trunk; the simulator: at once),
and all of it arrives (100 messages for its 2 s); a silent callee sends no media frames at all (chan_websocket
writes nothing when the bridge has nothing for it, no comfort noise, no silent frames); the
voicemail's beep is found by the agent's own BeepDetector after the greeting.
"""

import asyncio

from engine.agent.beep import BeepDetector
from engine.ports.telephony import AudioFormat, AudioReceived, CallOutcome, DialRequest, MediaClosed

from .audio_checks import audible
from .test_calls import assert_nothing_left, new_id

ULAW = AudioFormat.ULAW


async def received(stream, seconds: float, stop=lambda event: False) -> list[tuple[float, object]]:
    """(arrival time, event) for each media event during `seconds`, up to MediaClosed or `stop`."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[float, object]] = []

    async def _read() -> None:
        async for event in stream.events():
            seen.append((loop.time(), event))
            if isinstance(event, MediaClosed) or stop(event):
                return

    try:
        await asyncio.wait_for(_read(), seconds)
    except TimeoutError:
        pass
    return seen


async def test_speaks_first_callee_is_heard_right_after_the_answer(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("speaks-first")))
    assert await call.answered() is True
    answered_at = asyncio.get_running_loop().time()
    events = await received(call.media, 3.0)
    heard = [t for t, e in events if isinstance(e, AudioReceived) and audible(ULAW, e.audio)]
    assert heard, "no audible audio within 3 s of the answer"
    assert heard[0] - answered_at < 1.0  # its first words, not seconds later
    assert len(heard) >= 25  # at least half a second of its greeting
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    await assert_nothing_left(telephony, target, call_id)


async def test_silent_callee_sends_no_media_frames(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("silent")))
    assert await call.answered() is True
    events = await received(call.media, 2.0)
    frames = [e for _, e in events if isinstance(e, AudioReceived)]
    assert not [f for f in frames if audible(ULAW, f.audio)]  # the agent hears only silence...
    heard_ms = sum(len(f.audio) for f in frames) // ULAW.bytes_per_ms
    assert heard_ms >= 1000  # ...which the adapter fills in (ari_apps/media_gaps.py), 20 ms per 20 ms of gap
    assert call.media.audio_messages == 0  # chan_websocket sent nothing at all, not even silent frames
    assert not call.done
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    await assert_nothing_left(telephony, target, call_id)


async def test_voicemail_beep_is_found_by_the_agents_beep_detector(target, telephony):
    call_id = new_id()
    call = await telephony.originate(DialRequest(call_id, target.endpoint("voicemail")))
    assert await call.answered() is True
    detector = BeepDetector.for_media(ULAW)
    audio_before_beep = 0

    def beep_ended(event) -> bool:
        nonlocal audio_before_beep
        if not isinstance(event, AudioReceived):
            return False
        if detector.feed(event.audio):
            return True
        audio_before_beep += len(event.audio)
        return False

    await received(call.media, 15.0, stop=beep_ended)
    if detector.last_beep_hz is None:  # the line went quiet right after the beep (the simulator's 1/20-speed
        detector.feed(b"\xff" * 800)  # machine stops recording 0.15 s later): the beep ended into silence
    assert detector.last_beep_hz is not None, "no beep found in the voicemail's audio"
    assert abs(detector.last_beep_hz - 1000) < 50
    assert 300 <= detector.last_beep_ms <= 600
    assert audio_before_beep / 8000 > 3.0  # after its greeting of several seconds
    if not call.done:
        await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    await assert_nothing_left(telephony, target, call_id)
