"""Who speaks first: the agent listens after the answer, answers the callee's first words, or greets a silent line.

Seen on a real trunk: the agent greeted the instant the call was answered, the callee's
"Green Street Pharmacy, how can I help?" interrupted it after 0.18 s and the greeting was lost.
Times are measured on the injected clock.
"""

from __future__ import annotations

import asyncio

from engine.agent.options import AgentSessionOptions
from engine.agent.state import CallState
from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig, dentist_task

LISTENING_TASK = dentist_task(greet_first=False)
INTRO = Reply("Hello! This is an AI assistant calling for Anna Schmidt about her appointment.", audio_ms=600)


async def test_the_callee_greets_first_and_the_agent_answers_when_their_words_end(provider: str) -> None:
    async with call_rig([INTRO], task=LISTENING_TASK, provider=provider) as rig:
        await rig.wait_event("listening")
        assert not rig.speak_requests()  # nothing is said over the callee's greeting
        rig.clock.advance(0.2)
        callee = rig.sim.sessions[0]
        await rig.callee_starts_speaking(callee)
        await rig.wait_timer(6.0)  # the agent heard the callee start (a machine's greeting would run longer)
        rig.clock.advance(1.5)  # "Green Street Pharmacy, how can I help?"
        assert len(rig.media.sent) == 0
        await rig.callee_stops_speaking(session=callee, transcript="Green Street Pharmacy, how can I help?")
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()

    # The model answered by itself (turn detection); the agent did not ask for a second response.
    assert not rig.speak_requests()
    assert "voice_error" not in rig.kinds()
    # callee's last word at 1.7 s -> the agent's first audio: at once, no interruption
    assert result.metrics.turn_latencies_ms == [0.0]
    assert result.metrics.time_to_first_audio_ms == 1700.0
    assert result.metrics.barge_ins == 0 and rig.media.flushes == 0
    assert [t.speaker for t in result.transcript] == ["callee", "agent"]
    assert not result.transcript[1].truncated
    assert rig.event("callee_spoke_first").data == {"speech_ms": 1500}
    assert rig.event("answer_classified").data["kind"] == "person"
    # the model was told to introduce itself in that reply
    notes = rig.notes()
    assert any("Let the person who answered speak first" in note and "Anna Schmidt" in note for note in notes)


async def test_a_silent_callee_is_greeted_after_the_listening_time(provider: str) -> None:
    async with call_rig([INTRO], task=LISTENING_TASK, provider=provider) as rig:
        await rig.wait_event("listening")
        await rig.advance_when_due(1.5)
        create = await rig.wait_speak_request()
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()

    assert "Say exactly this greeting" in rig.spoken_instructions(create)
    assert result.metrics.time_to_first_audio_ms == 1500.0  # answer -> greeting
    assert rig.event("greeting").data == {"silent_s": 1.5}
    assert rig.kinds().index("listening") < rig.kinds().index("greeting")


async def test_the_listening_time_is_an_option(provider: str) -> None:
    options = AgentSessionOptions(listen_first_s=3.0)
    async with call_rig([INTRO], task=LISTENING_TASK, options=options, provider=provider) as rig:
        await rig.wait_event("listening")
        await rig.advance_when_due(3.0)
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.metrics.time_to_first_audio_ms == 3000.0


async def test_a_task_that_greets_at_once_asks_for_the_greeting_while_the_phone_rings(provider: str) -> None:
    async with call_rig([INTRO], task=dentist_task(greet_first=True), answer=False, provider=provider) as rig:
        create = await rig.wait_speak_request()  # before the answer
        assert rig.agent.status.state is CallState.RINGING
        rig.call.answer()
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert "Say exactly this greeting" in rig.spoken_instructions(create)
    assert result.metrics.time_to_first_audio_ms == 0.0
    assert "listening" not in rig.kinds()


async def test_an_automated_menu_is_classified_by_its_words_and_the_model_told_to_use_keys(provider: str) -> None:
    menu = "Thank you for calling Green Street Dental. For appointments, press 1. For billing, press 2."
    async with call_rig([INTRO], task=LISTENING_TASK, provider=provider) as rig:
        await rig.wait_event("listening")
        callee = rig.sim.sessions[0]
        await rig.callee_starts_speaking(callee)
        await rig.wait_timer(6.0)
        rig.clock.advance(4.0)
        await rig.callee_stops_speaking(session=callee, transcript=menu)
        async with rig.recorder._changed:  # the menu is known once its words are transcribed
            await asyncio.wait_for(
                rig.recorder._changed.wait_for(
                    lambda: any(
                        e.kind == "answer_classified" and e.data["kind"] == "ivr_menu"
                        for e in rig.recorder.events["call-1"]
                    )
                ),
                5,
            )
        rig.call.callee_hangs_up()
        await rig.result()
    kinds = [e.data["kind"] for e in rig.recorder.events["call-1"] if e.kind == "answer_classified"]
    assert kinds[-1] == "ivr_menu"
    notes = rig.notes()
    assert any("automated phone menu" in note and "send_dtmf" in note for note in notes)


def test_menu_words_are_told_apart_from_a_persons() -> None:
    from engine.agent.menu_detection import sounds_like_a_menu

    assert sounds_like_a_menu("For appointments, press 1. For billing, press two.")
    assert sounds_like_a_menu("Please listen carefully as our menu options have changed.")
    assert not sounds_like_a_menu("Green Street Pharmacy, how can I help?")
    assert not sounds_like_a_menu("Sorry, could you press on with what you wanted?")
