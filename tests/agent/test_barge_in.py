"""Barge-in: flush, truncate at what was really played, drop late deltas."""

from __future__ import annotations

from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig, realtime_only

LONG = Reply(
    "Hello, this is an AI assistant calling on behalf of Anna Schmidt about her appointment.",
    audio_ms=2000,
    hold_after_ms=1000,
    late_deltas=2,
)


@realtime_only(
    "Live has no truncate and no response.cancel; its barge-in is test_providers' test_barge_in_flushes_what_the_callee_did_not_hear"
)
async def test_barge_in_truncates_at_the_played_position(provider: str) -> None:
    async with call_rig([LONG, Reply("Of course, go ahead.", audio_ms=300)], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)  # the model streamed 1 s and holds the rest
        await rig.media.play(300)  # 15 frames reach the callee; marks confirm 300 ms
        await rig.agent.playout.wait_played_ms(300)
        rig.clock.advance(0.010)  # 10 ms into the next, unconfirmed chunk
        callee = rig.sim.sessions[0]
        await callee.callee_starts_speaking()

        truncate = await rig.sim.wait_for_event("conversation.item.truncate")
        assert truncate["audio_end_ms"] == 310
        assert truncate["content_index"] == 0
        assert truncate["item_id"] == next(iter(callee.audio_ms_sent))
        await rig.sim.wait_for(lambda: [e for e in callee.received if e["type"] == "conversation.item.truncate"])
        assert rig.media.flushes == 1
        assert rig.media.flushed_bytes == 700 * 8  # queued but never played
        assert not rig.sim.received("response.cancel")  # the server cancelled it (interrupt_response)

        await callee.callee_stops_speaking("Sorry, who is this?")
        await rig.media.wait_sent((1000 + 300) * 8)
        await rig.media.play(300)
        rig.call.callee_hangs_up()
        result = await rig.result()

    assert len(rig.media.sent) == (1000 + 300) * 8  # the late deltas of the cancelled response were dropped
    assert result.metrics.barge_ins == 1
    agent_turns = [t for t in result.transcript if t.speaker == "agent"]
    assert agent_turns[0].truncated and not agent_turns[1].truncated
    assert [t.text for t in result.transcript if t.speaker == "callee"] == ["Sorry, who is this?"]
    barge = next(e for e in rig.recorder.events["call-1"] if e.kind == "barge_in")
    assert barge.data["audio_end_ms"] == 310
    assert len(result.metrics.turn_latencies_ms) == 1


async def test_speech_while_silent_does_not_flush_or_truncate(provider: str) -> None:
    async with call_rig([Reply("Hi.", audio_ms=200), Reply("Yes?", audio_ms=200)], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.agent.playout.wait_played_ms(200)
        await rig.sim.sessions[0].callee_says("Hello?")
        await rig.media.wait_sent(400 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert rig.media.flushes == 0
    assert not rig.sim.received("conversation.item.truncate")
    assert result.metrics.barge_ins == 0


@realtime_only(
    "interrupt_response is a Realtime setting; the Live model always yields by itself (model_yields_on_barge_in)"
)
async def test_interrupt_response_off_means_the_agent_cancels(provider: str) -> None:
    from engine.agent.options import AgentSessionOptions
    from engine.ports.voice_model import TurnDetectionConfig

    options = AgentSessionOptions(turn_detection=TurnDetectionConfig(interrupt_response=False))
    async with call_rig([LONG], autoplay=False, options=options, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)
        await rig.media.play(100)
        await rig.agent.playout.wait_played_ms(100)
        await rig.sim.sessions[0].callee_starts_speaking()
        await rig.sim.wait_for_event("response.cancel")
        truncate = await rig.sim.wait_for_event("conversation.item.truncate")
        assert truncate["audio_end_ms"] == 100
