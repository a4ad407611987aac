"""A whole call through the runtime: simulator over a real WebSocket, the SDK, fake media."""

from __future__ import annotations

from engine.clock import SystemClock
from engine.ports.telephony import AudioFormat
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import call_rig

GREETING = Reply("Hello, this is an AI assistant calling on behalf of Anna Schmidt.", audio_ms=400)


async def test_conversation_with_audio_transcripts_tools_and_metrics(provider: str) -> None:
    replies = [
        GREETING,
        Reply("I'd like to move Anna's cleaning to a Tuesday afternoon.", audio_ms=600),
        Reply(
            "Tuesday at three is perfect. Thank you, goodbye!",
            audio_ms=500,
            tool_calls=(
                SimToolCall(
                    "record_outcome",
                    {"achieved": True, "summary": "Moved to Tuesday 15:00", "facts_learned": ["Tuesday 15:00"]},
                ),
                SimToolCall("end_call", {"reason": "appointment moved"}),
            ),
        ),
    ]
    async with call_rig(replies, provider=provider) as rig:
        greeting_create = rig.speak_requests()[0]
        assert "Am I speaking with Dr. Weber's practice?" in rig.spoken_instructions(greeting_create)
        await rig.media.wait_sent(400 * 8)
        callee = await rig.sim.wait_for_session()
        rig.media.callee_audio(b"\x7f" * 160)
        await rig.sim.wait_for_event(rig.audio_in_event)
        await callee.callee_says("Yes, speaking.")
        await rig.media.wait_sent((400 + 600) * 8)
        await callee.callee_says("Tuesday at three works.")
        result = await rig.result()

    assert rig.call.hangups == ["normal"]
    assert result.answered and not result.agent_failure and result.hangup_by == "agent"
    assert len(rig.media.sent) == (400 + 600 + 500) * 8  # mu-law passes through, frame aligned
    assert [(t.speaker, t.text) for t in result.transcript] == [
        ("agent", GREETING.text),
        ("callee", "Yes, speaking."),
        ("agent", "I'd like to move Anna's cleaning to a Tuesday afternoon."),
        ("callee", "Tuesday at three works."),
        ("agent", "Tuesday at three is perfect. Thank you, goodbye!"),
    ]
    assert not any(t.truncated for t in result.transcript)
    assert result.objective is not None and result.objective.achieved
    assert result.objective.facts_learned == ("Tuesday 15:00",)
    assert result.end_reason == "appointment moved"
    assert [c.name for c in result.tool_calls] == ["record_outcome", "end_call"]
    metrics = result.metrics
    assert metrics.time_to_first_audio_ms == 0  # the virtual clock did not move: greeting was ready
    assert len(metrics.turn_latencies_ms) == 2
    assert metrics.tool_calls == 2 and metrics.barge_ins == 0
    if provider == "realtime":
        assert metrics.usage.output_audio_tokens == (400 + 600 + 500) // 50
    else:  # billed per active second: the session timeline is at least the audio the model spoke
        assert metrics.usage.active_seconds >= 1.5
        assert metrics.usage.input_text_tokens > 0  # the backend that ran the tools
    assert metrics.estimated_cost_usd > 0
    assert [t.text for t in rig.recorder.turns["call-1"]] == [t.text for t in result.transcript]
    assert "tool_call" in rig.recorder.kinds("call-1")


async def test_unanswered_call_closes_the_session(provider: str) -> None:
    async with call_rig([GREETING], answer=False, provider=provider) as rig:
        await rig.wait_speak_request()
        rig.call.fail()
        result = await rig.result()
        assert not result.answered and result.transcript == ()
        await rig.sim.wait_for(lambda: rig.sim.sessions[0].websocket.state.name == "CLOSED")


async def test_slin16_call_resamples_both_ways(provider: str) -> None:
    async with call_rig([GREETING], fmt=AudioFormat.SLIN16, provider=provider) as rig:
        await rig.media.wait_sent(400 * 32 - 640)
        rig.call.callee_hangs_up()
        result = await rig.result()
    setup = rig.setup_event(rig.sim.sessions[0])["session"]
    if provider == "realtime":  # Realtime speaks PCM16 at 24 kHz: the bridge resamples both ways
        assert setup["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    else:  # Live takes 16 kHz PCM as is, one format both ways: nothing to resample
        assert setup["audio"]["format"] == {"type": "audio/pcm", "rate": 16000}
    assert len(rig.media.sent) % 640 == 0  # whole 20 ms frames only
    assert abs(len(rig.media.sent) - 400 * 32) <= 640
    assert result.hangup_by == "callee"


async def test_time_to_first_audio_with_the_real_clock(provider: str) -> None:
    """Prints the figure (run with -s); asserts nothing about wall-clock time."""
    async with call_rig([GREETING, GREETING], answer=False, provider=provider) as rig:
        rig.agent.clock = SystemClock()
        await rig.sim.wait_for(
            lambda: rig.sim.sessions and rig.model_audio_sent(rig.sim.sessions[0])
        )  # greeting generated while ringing
        rig.call.answer()
        await rig.media.wait_sent(400 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    ttfa = result.metrics.time_to_first_audio_ms
    assert ttfa is not None
    print(f"\ntime from answer to first agent audio (greeting prepared while ringing): {ttfa:.2f} ms")


async def test_time_to_first_audio_when_answered_at_once(provider: str) -> None:
    """The callee answers before the session is even open: prints the figure (-s)."""
    async with call_rig([GREETING], answer=False, provider=provider) as rig:
        rig.agent.clock = SystemClock()
        rig.call.answer()
        await rig.media.wait_sent(400 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    ttfa = result.metrics.time_to_first_audio_ms
    assert ttfa is not None
    print(f"\ntime from answer to first agent audio (answered instantly, session opened meanwhile): {ttfa:.2f} ms")
