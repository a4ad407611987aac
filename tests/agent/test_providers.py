"""The agent end to end on both voice providers: OpenAI Realtime and GPT-Live, each through its
real adapter, the openai SDK and its simulator over a real WebSocket, with fake media.

What is asserted is what the callee heard (media), what the model was told (the simulator's
received events, through provider-neutral helpers of the rig) and what the report says."""

from __future__ import annotations

from engine.voice.codecs import pcm16_to_ulaw, tone_pcm16
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import call_rig

GREETING = Reply("Hello, this is an AI assistant calling on behalf of Anna Schmidt.", audio_ms=400)
LONG = Reply(
    "Hello, this is an AI assistant calling on behalf of Anna Schmidt about her appointment.",
    audio_ms=2000,
    hold_after_ms=1000,
)


def voice(ms: int) -> bytes:
    """The callee speaking for `ms`, then 600 ms of silence, as mu-law on the line."""
    return pcm16_to_ulaw(tone_pcm16(ms, 8000, level=0.3) + b"\x00\x00" * 8 * 600)


async def test_barge_in_flushes_what_the_callee_did_not_hear(provider: str) -> None:
    async with call_rig([LONG, Reply("Of course, go ahead.", audio_ms=300)], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)  # the model streamed 1 s and holds the rest
        await rig.media.play(300)
        await rig.agent.playout.wait_played_ms(300)
        callee = rig.sim.sessions[0]
        await callee.callee_starts_speaking()
        rig.media.callee_audio(voice(300))
        await rig.recorder.wait_for_event("call-1", "barge_in")
        assert rig.media.flushes == 1
        assert rig.media.flushed_bytes == 700 * 8  # queued but never played
        await callee.callee_stops_speaking("Sorry, who is this?")
        await rig.media.wait_sent((1000 + 300) * 8)
        await rig.media.play(300)
        rig.call.callee_hangs_up()
        result = await rig.result()

    assert len(rig.media.sent) == (1000 + 300) * 8  # the rest of the interrupted reply never came
    assert result.metrics.barge_ins == 1
    agent_turns = [t for t in result.transcript if t.speaker == "agent"]
    assert agent_turns[0].truncated and not agent_turns[1].truncated
    assert len(agent_turns[0].text) < len(LONG.text)  # only what was played is kept
    assert [t.text for t in result.transcript if t.speaker == "callee"] == ["Sorry, who is this?"]
    if provider == "realtime":
        assert rig.sim.received("conversation.item.truncate")[0]["audio_end_ms"] == 300
    else:  # Live has no truncate or cancel: the model stopped by itself
        assert {e["type"] for e in rig.sim.received()} <= {
            "session.start",
            "session.instructions.append",
            "session.input_audio.append",
            "session.close",
        }


async def test_end_call_hangs_up_after_the_goodbye_played(provider: str) -> None:
    bye = Reply("Goodbye!", audio_ms=500, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))
    async with call_rig([bye], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(500 * 8)
        await rig.clock.wait_sleepers(1)  # waiting for the goodbye mark, with a timeout
        assert rig.call.hangups == []
        await rig.media.play(500)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.hangup_by == "agent" and result.end_reason == "done"
    assert "goodbye_mark_lost" not in rig.recorder.kinds("call-1")
    assert [t.text for t in result.transcript] == ["Goodbye!"]


async def test_send_dtmf_then_the_line_answers(provider: str) -> None:
    press = Reply("Let me press two.", audio_ms=200, tool_calls=(SimToolCall("send_dtmf", {"digits": "2"}),))
    replies = [press, Reply("Thank you.", audio_ms=200)]
    if provider == "live":  # a delegated call is always continued (response.create); the backend says nothing here
        replies.insert(1, Reply("", audio_ms=0))
    async with call_rig(replies, provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.recorder.wait_for_event("call-1", "tool_call")
        callee = await rig.sim.wait_for_session()
        await callee.callee_says("Connecting you to billing.")
        await rig.media.wait_sent(400 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.dtmf_sent == ("2",)
    assert len(rig.sent_items("function_call_output")) == 1  # the result went back to the model
    assert [(t.speaker, t.text) for t in result.transcript] == [
        ("agent", "Let me press two."),
        ("callee", "Connecting you to billing."),
        ("agent", "Thank you."),
    ]


async def test_user_info_answer_is_injected_mid_call(provider: str) -> None:
    ask = Reply(
        "Let me check that with Anna.",
        audio_ms=200,
        tool_calls=(SimToolCall("request_user_info", {"question": "Is Tuesday 15:00 fine?", "timeout_seconds": 60}),),
    )
    replies = [ask, Reply("One moment please.", audio_ms=200), Reply("Yes, 15:00 works for Anna.", audio_ms=200)]
    async with call_rig(replies, provider=provider) as rig:
        question = await rig.broker.wait_for_question()
        assert question.question == "Is Tuesday 15:00 fine?"
        await rig.media.wait_sent(400 * 8)
        rig.broker.answer("Yes, Tuesday 15:00 is fine.")
        await rig.media.wait_sent(600 * 8)  # the callee heard the answer relayed
        assert any("Yes, Tuesday 15:00 is fine." in note for note in rig.notes())
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.user_answers == (("Is Tuesday 15:00 fine?", "Yes, Tuesday 15:00 is fine."),)
    # (Live marks no end of a turn: replies given back to back may share one transcript turn.)
    assert result.transcript[-1].speaker == "agent"
    assert result.transcript[-1].text.endswith("Yes, 15:00 works for Anna.")


async def test_callee_keys_reach_the_model_and_get_a_reaction(provider: str) -> None:
    async with call_rig([Reply("Hi.", audio_ms=200), Reply("You pressed five.", audio_ms=100)], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.media.press("5")
        await rig.sim.wait_for(lambda: rig.notes())
        assert "pressed the key '5'" in rig.notes()[0]
        for _ in range(10):  # keys make no voice activity: once they stop, the agent reacts
            rig.clock.advance(0.5)
            if len(rig.media.sent) >= 300 * 8:
                break
            try:
                await rig.media.wait_sent(300 * 8, timeout=0.2)
                break
            except TimeoutError:
                continue
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert [t.text for t in result.transcript] == ["Hi.", "You pressed five."]


async def test_a_lost_session_is_replaced_with_the_conversation_so_far(provider: str) -> None:
    async with call_rig([GREETING, Reply("Sorry, we were cut off.", audio_ms=200)], provider=provider) as rig:
        await rig.media.wait_sent(400 * 8)
        await rig.recorder.wait_for_turns("call-1", 1)
        await rig.sim.sessions[0].websocket.close(1011, "internal error")
        second = await rig.sim.wait_for_session(1)
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert second.index == 1 and result.metrics.reconnects == 1 and not result.agent_failure
    assert any(GREETING.text in note for note in rig.notes())  # the new session knows what was said
    assert [t.text for t in result.transcript] == [GREETING.text, "Sorry, we were cut off."]


async def test_the_session_cap_hands_over_to_a_new_session(provider: str) -> None:
    """Realtime closes at its 60-minute cap (1001); GPT-Live ends with session.closed{reason: expired}."""
    async with call_rig([GREETING, Reply("As I was saying.", audio_ms=200)], provider=provider) as rig:
        await rig.media.wait_sent(400 * 8)
        await rig.recorder.wait_for_turns("call-1", 1)
        first = rig.sim.sessions[0]
        if provider == "realtime":
            await first.close(1001, "session cap")
        else:
            await first.end("expired")
        await rig.sim.wait_for_session(1)
        await rig.media.wait_sent(600 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.metrics.reconnects == 1 and not result.agent_failure
    assert "voice_session_resumed" in rig.recorder.kinds("call-1")
    assert [t.text for t in result.transcript] == [GREETING.text, "As I was saying."]
