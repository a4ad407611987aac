"""The stored transcript says what was heard: a callee turn whose words could not be transcribed
keeps a marker, and an interrupted agent turn keeps only the words the callee heard."""

from __future__ import annotations

from engine.ports.voice_model import CalleeTranscriptFailed, SpeechStarted, SpeechStopped
from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig, realtime_only

HELLO = Reply("Hello, this is an AI assistant.", audio_ms=200)


@realtime_only(
    "GPT-Live has no transcription-failure event (openai 3.57 types/live/server_event.py: input transcript "
    "fragments or nothing); what the product does then is test_speech_the_model_gives_no_words_for_..."
)
async def test_a_failed_transcription_is_a_call_event_and_a_marked_callee_turn(provider: str) -> None:
    async with call_rig([HELLO], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.emit(SpeechStarted("item_callee_1", 1200))
        rig.emit(SpeechStopped("item_callee_1", 2400))
        rig.emit(CalleeTranscriptFailed("item_callee_1", "model_not_found: the transcription model is retired"))
        failed = await rig.recorder.wait_for_event("call-1", "transcription_failed")
        turns = await rig.recorder.wait_for_turns("call-1", 2)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert "model_not_found" in failed.message and failed.data["item_id"] == "item_callee_1"
    [callee] = [t for t in turns if t.speaker == "callee"]
    assert callee.text == "[inaudible: transcription failed]" and callee.inaudible
    assert [t.inaudible for t in result.transcript if t.speaker == "callee"] == [True]


async def test_a_callee_turn_whose_text_never_arrives_is_kept_with_a_marker(provider: str) -> None:
    async with call_rig([HELLO], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.emit(SpeechStarted("item_callee_1", 1200))
        rig.emit(SpeechStopped("item_callee_1", 2400))
        rig.call.callee_hangs_up()
        result = await rig.result()
    [callee] = [t for t in result.transcript if t.speaker == "callee"]
    assert callee.text == "[inaudible: no transcript]" and callee.inaudible
    assert [t.text for t in rig.recorder.turns["call-1"] if t.speaker == "callee"] == [callee.text]


async def test_speech_the_model_gives_no_words_for_is_kept_as_an_inaudible_callee_turn(provider: str) -> None:
    """End to end: the callee speaks, no transcript comes (GPT-Live has no transcription-failure event:
    its SDK's server events carry input transcript fragments or nothing), the model answers anyway."""
    async with call_rig([HELLO, Reply("Sorry, could you say that again?", audio_ms=300)], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.callee_starts_speaking()
        rig.clock.advance(1.0)  # the callee speaks for a second
        await rig.callee_stops_speaking("")
        await rig.media.wait_sent((200 + 300) * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert [(t.speaker, t.text, t.inaudible) for t in result.transcript] == [
        ("agent", HELLO.text, False),
        ("callee", "[inaudible: no transcript]", True),
        ("agent", "Sorry, could you say that again?", False),
    ]
    assert "transcription_failed" not in rig.kinds()


async def test_an_interrupted_agent_turn_keeps_the_words_the_callee_heard(provider: str) -> None:
    counting = Reply("one two three four five six seven eight nine ten", audio_ms=2000, hold_after_ms=1000)
    async with call_rig([counting, Reply("Yes?", audio_ms=200)], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)  # the model sent "one two three four five " with 1000 ms of audio
        await rig.media.play(500)  # the callee heard half of it
        await rig.agent.playout.wait_played_ms(500)
        await rig.sim.sessions[0].callee_starts_speaking()
        await rig.sim.sessions[0].callee_stops_speaking("Hold on.")
        await rig.media.wait_sent(1200 * 8)
        await rig.media.play(200)
        rig.call.callee_hangs_up()
        result = await rig.result()
    first = result.transcript[0]
    assert (first.speaker, first.text, first.truncated) == ("agent", "one two", True)


async def test_an_agent_turn_cut_off_before_a_word_was_heard_is_not_recorded(provider: str) -> None:
    counting = Reply("one two three four five six seven eight nine ten", audio_ms=2000, hold_after_ms=1000)
    async with call_rig([counting, Reply("Yes?", audio_ms=200)], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)
        await rig.media.play(40)  # 4% of the item: not even "one" (the clock says so; no mark yet)
        await rig.sim.sessions[0].callee_starts_speaking()
        await rig.sim.sessions[0].callee_stops_speaking("Hold on.")
        await rig.media.wait_sent(1200 * 8)
        await rig.media.play(200)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert [(t.speaker, t.text) for t in result.transcript] == [("callee", "Hold on."), ("agent", "Yes?")]
