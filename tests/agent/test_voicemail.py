"""Voicemail: the agent stays silent through the machine's greeting and beep, then leaves the message or hangs up.

Seen on a real trunk: the agent hung up (or spoke) during the greeting and never left the task's
message. The callee's audio here is real audio through the fake media stream: speech-like sound
(ari_apps/simulator/audio.py) and a 1 kHz beep, in the call's mu-law.
"""

from __future__ import annotations

from ari_apps.simulator import audio
from engine.agent.beep import BeepDetector
from engine.agent.task import MachinePolicy
from engine.ports.telephony import AudioFormat
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import Rig, call_rig, dentist_task

MESSAGE = "Hello, this is Anna Schmidt's assistant. Please call Anna back on 030 123456. Thank you."
GREETING_TEXT = "You have reached Doctor Weber's practice. We are closed. Please leave a message after the tone."
FRAME = 160  # 20 ms of mu-law


def machine_task(policy: MachinePolicy):
    return dentist_task(greet_first=False, machine_policy=policy, machine_message=MESSAGE)


def feed(rig: Rig, pcm8k: bytes) -> None:
    """The callee's side sends this audio, 20 ms a frame, as time passes."""
    wire = audio.to_wire(pcm8k, "ulaw")
    for start in range(0, len(wire), FRAME):
        rig.media.callee_audio(wire[start : start + FRAME])
        rig.clock.advance(0.02)


async def long_greeting(rig: Rig) -> None:
    """A machine's greeting: 7 s of speech without a pause."""
    callee = rig.sim.sessions[0]
    await rig.wait_event("listening")
    await rig.callee_starts_speaking(callee)
    await rig.wait_timer(6.0)
    feed(rig, audio.speech(7.0, seed=7))
    await rig.wait_event("voicemail")


async def test_leave_message_waits_for_the_beep_then_speaks_the_message_and_hangs_up(provider: str) -> None:
    replies = [
        Reply("Hello? This is an AI assistant calling for Anna.", audio_ms=800),  # the model answers the greeting
        Reply(MESSAGE, audio_ms=900),
    ]
    async with call_rig(replies, task=machine_task(MachinePolicy.LEAVE_MESSAGE), provider=provider) as rig:
        await long_greeting(rig)
        await rig.callee_stops_speaking(GREETING_TEXT)
        await rig.wait_model_reply_stopped()  # the model's own reply to the greeting is cancelled
        assert len(rig.media.sent) == 0
        feed(rig, audio.silence(0.3) + audio.tone(1000, 0.4) + audio.silence(0.3))
        await rig.call.wait_hung_up()
        result = await rig.result()

    creates = rig.speak_requests()
    assert len(creates) == 1 and MESSAGE in rig.spoken_instructions(creates[0])
    assert [(t.speaker, t.text) for t in result.transcript if t.speaker == "agent"] == [("agent", MESSAGE)]
    assert not result.transcript[-1].truncated  # the message played to its end before the hang-up
    assert result.answering_machine and result.voicemail_left
    assert result.hangup_by == "agent" and result.end_reason == "voicemail message left"
    kinds = rig.kinds()
    assert kinds.index("voicemail") < kinds.index("beep") < kinds.index("voicemail_left") < kinds.index("hangup")
    assert rig.event("beep").data == {"hz": 1000, "ms": 400}
    assert "over 6 s without a pause" in rig.event("voicemail").message


async def test_hang_up_policy_hangs_up_without_a_word(provider: str) -> None:
    async with call_rig(
        [Reply("Hello?", audio_ms=400)], task=machine_task(MachinePolicy.HANG_UP), provider=provider
    ) as rig:
        await long_greeting(rig)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert len(rig.media.sent) == 0 and not rig.speak_requests()
    assert result.answering_machine and not result.voicemail_left
    assert result.end_reason == "answering machine" and result.hangup_by == "agent"
    assert rig.event("voicemail_hang_up").data == {"policy": "hang_up"}


async def test_the_models_verdict_waits_for_the_beep_before_the_message(provider: str) -> None:
    """A short greeting sounds like a person; the model recognises the machine; the beep comes later."""
    machine = Reply("", audio_ms=0, tool_calls=(SimToolCall("answering_machine_detected", {"evidence": "greeting"}),))
    async with call_rig(
        [machine, Reply(MESSAGE, audio_ms=900)], task=machine_task(MachinePolicy.LEAVE_MESSAGE), provider=provider
    ) as rig:
        await rig.wait_event("listening")
        await rig.sim.sessions[0].callee_says("Hi, it's Tom, leave a message.")
        await rig.wait_event("voicemail")
        assert not any(rig.instructions())  # no message during the greeting
        feed(rig, audio.silence(0.2) + audio.tone(1400, 0.5) + audio.silence(0.2))
        await rig.call.wait_hung_up()
        result = await rig.result()
    # the first instructions the agent gave (on Live the delegated machine verdict is continued with a bare
    # response.create, which carries none)
    assert MESSAGE in next(i for i in rig.instructions() if i)
    assert result.voicemail_left and rig.event("voicemail").data["evidence"] == "greeting"


async def test_a_beep_while_the_agent_speaks_cuts_it_and_leaves_the_message(provider: str) -> None:
    """The greeting was short, the model answered it; then the beep: the machine records from here."""
    hello = Reply(
        "Hello, this is an AI assistant calling on behalf of Anna Schmidt.", audio_ms=3000, hold_after_ms=1000
    )
    async with call_rig(
        [hello, Reply(MESSAGE, audio_ms=900)],
        task=machine_task(MachinePolicy.LEAVE_MESSAGE),
        autoplay=False,
        provider=provider,
    ) as rig:
        await rig.wait_event("listening")
        await rig.sim.sessions[0].callee_says("Hi, leave a message.")
        await rig.media.wait_sent(1000 * 8)
        feed(rig, audio.tone(1000, 0.4) + audio.silence(0.1))
        await rig.wait_event("voicemail_left")
        await rig.media.wait_sent((1000 + 900) * 8)
        await rig.media.play(2000)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert rig.media.flushes == 1  # the agent's words to the greeting were cut at the beep
    assert rig.event("voicemail").data["evidence"] == "a beep"
    assert result.voicemail_left


def test_the_beep_detector_hears_beeps_and_not_speech() -> None:
    def beeps(pcm8k: bytes, fmt: str = "ulaw") -> int:
        wire = audio.to_wire(pcm8k, fmt)
        detector = BeepDetector.for_media(AudioFormat.ULAW if fmt == "ulaw" else AudioFormat.SLIN16)
        step = FRAME if fmt == "ulaw" else 4 * FRAME
        return sum(detector.feed(wire[i : i + step]) for i in range(0, len(wire), step))

    assert sum(beeps(audio.speech(10.0, seed=seed)) for seed in range(20)) == 0  # 200 s of speech
    assert beeps(audio.speech(3.0) + audio.silence(0.3) + audio.tone(1000, 0.4) + audio.silence(0.2)) == 1
    assert beeps(audio.tone(1800, 0.25) + audio.silence(0.1), "slin16") == 1
    assert beeps(audio.tone(1000, 2.0) + audio.silence(0.1)) == 0  # too long: a dial tone, not a beep
    assert beeps(audio.tone(440, 0.5) + audio.silence(0.1)) == 0  # outside the beep band
    assert beeps(audio.tone(1000, 0.1) + audio.silence(0.1)) == 0  # too short


async def test_a_machine_cutting_into_the_voicemail_message_still_ends_the_call(provider: str) -> None:
    """A goodbye the callee interrupts goes back to the conversation, but a machine's noise during
    the voicemail message is not a person: the message's end still hangs up."""
    replies = [Reply("Hello? This is an AI assistant calling for Anna.", audio_ms=800), Reply(MESSAGE, audio_ms=900)]
    async with call_rig(
        replies, task=machine_task(MachinePolicy.LEAVE_MESSAGE), autoplay=False, provider=provider
    ) as rig:
        await long_greeting(rig)
        await rig.callee_stops_speaking(GREETING_TEXT)
        await rig.wait_model_reply_stopped()
        # the silence after the beep outlasts a voice activity detector's 500 ms (Live's adapter hears the
        # callee itself), so the noise below is a new start of speech
        feed(rig, audio.silence(0.3) + audio.tone(1000, 0.4) + audio.silence(0.6))
        await rig.media.wait_sent(900 * 8)  # the message is on its way to the callee
        await rig.media.play(400)
        await rig.callee_starts_speaking()  # the machine's tone or noise cuts in
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.hangup_by == "agent" and result.voicemail_left
    assert "goodbye_interrupted" not in rig.kinds()


def test_the_networks_intercept_tones_are_not_a_voicemail_beep() -> None:
    """SIT tones (three tones in a row) must reach the intercept detector, not end the call as voicemail."""
    detector = BeepDetector.for_media(AudioFormat.ULAW)
    sit = b"".join(audio.tone(hz, ms / 1000) for hz, ms in ((914, 274), (1371, 274), (1777, 380)))
    assert not detector.feed(audio.to_wire(audio.silence(0.3) + sit + audio.silence(1.0), "ulaw"))
    assert detector.feed(audio.to_wire(audio.tone(1000, 0.4) + audio.silence(0.3), "ulaw"))
