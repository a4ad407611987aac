"""Model faults mid-call: drops, the session cap, failed reconnects, rate limits."""

from __future__ import annotations

import pytest

from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig, realtime_only

HELLO = Reply("Hello, this is an AI assistant calling for Anna Schmidt.", audio_ms=200)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1011, "keepalive ping timeout"), (1001, "Your session hit the maximum duration of 60 minutes.")],
)
async def test_one_reconnect_carries_the_conversation(code: int, reason: str, provider: str) -> None:
    async with call_rig(
        [
            HELLO,
            Reply("Yes, it's about Anna's appointment.", audio_ms=200),
            Reply("Sorry, we were cut off. As I said, it's about the appointment.", audio_ms=300),
        ],
        provider=provider,
    ) as rig:
        await rig.media.wait_sent(200 * 8)
        first = rig.sim.sessions[0]
        await first.callee_says("Who is calling?")
        await rig.media.wait_sent(400 * 8)
        await rig.agent.playout.wait_played_ms(400)
        await first.close(code, reason)

        second = await rig.sim.wait_for_session(1)
        note = (await rig.sim.wait_for(lambda: rig.notes(second)))[0]
        assert "Agent: Hello, this is an AI assistant calling for Anna Schmidt." in note
        assert "Callee: Who is calling?" in note
        assert "Apologise" in note
        first_setup, second_setup = rig.setup_event(rig.sim.sessions[0]), rig.setup_event(second)
        assert second_setup["session"]["instructions"] == first_setup["session"]["instructions"]
        await rig.media.wait_sent(700 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.metrics.reconnects == 1 and not result.agent_failure
    assert result.transcript[-1].text.startswith("Sorry, we were cut off.")
    assert {"voice_session_lost", "voice_session_resumed"} <= set(rig.recorder.kinds("call-1"))


async def test_failed_reconnect_is_an_agent_failure(provider: str) -> None:
    async with call_rig([HELLO], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.sim.reject_upgrades(401)
        await rig.sim.sessions[0].close(1011, "internal error")
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.agent_failure and "reconnect failed" in result.failure_reason
    assert rig.failure_hook_calls == ["call-1"]  # the caller side's apology hook ran before the hang-up
    assert rig.call.hangups == ["normal"] and result.hangup_by == "agent"
    assert "agent_failure" in rig.recorder.kinds("call-1")


async def test_second_drop_is_an_agent_failure(provider: str) -> None:
    async with call_rig([HELLO, HELLO], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.sim.sessions[0].close(1011)
        second = await rig.sim.wait_for_session(1)
        await rig.media.wait_sent(400 * 8)
        await second.close(1011)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.agent_failure and result.metrics.reconnects == 1


async def test_model_unreachable_at_the_start_is_an_agent_failure(provider: str) -> None:
    async with call_rig([HELLO], answer=False, prepare=lambda sim: sim.reject_upgrades(401), provider=provider) as rig:
        rig.call.answer()
        result = await rig.result()
    assert result.agent_failure and "unavailable" in result.failure_reason
    assert rig.call.hangups == ["normal"]


async def test_rate_limit_error_is_retried_after_a_backoff(provider: str) -> None:
    def fail_first_create(sim) -> None:
        sim.failing_creates.append("rate_limit_exceeded")

    async with call_rig([HELLO], prepare=fail_first_create, provider=provider) as rig:
        await rig.clock.wait_sleepers(1)
        assert len(rig.speak_requests()) == 1
        rig.clock.advance(1.0)
        await rig.media.wait_sent(200 * 8)
        retried = rig.speak_requests()[1]
        assert rig.spoken_instructions(retried) == rig.spoken_instructions(rig.speak_requests()[0])
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.metrics.rate_limit_hits == 1 and not result.agent_failure


async def test_rate_limit_exhausted_repeatedly_fails_the_call(provider: str) -> None:
    def fail_creates(sim) -> None:
        sim.failing_creates.extend(["rate_limit_exceeded"] * 3)

    async with call_rig([HELLO], prepare=fail_creates, provider=provider) as rig:
        for delay in (1.0, 2.0):
            await rig.clock.wait_sleepers(1)
            rig.clock.advance(delay)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.agent_failure and "rate limited" in result.failure_reason


@realtime_only("GPT-Live has no rate_limits.updated event (openai 3.57 types/live/server_event.py)")
async def test_rate_limits_updated_exhausted_is_recorded(provider: str) -> None:
    def exhausted(sim) -> None:
        sim.rate_limit_remaining = 0

    async with call_rig([HELLO], prepare=exhausted, provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.call.callee_hangs_up()
        await rig.result()
    event = next(e for e in rig.recorder.events["call-1"] if e.kind == "rate_limit")
    assert "requests" in event.message


async def test_an_error_that_keeps_the_session_is_recorded_and_the_call_goes_on(provider: str) -> None:
    """Both services report a refused command or a hiccup with an `error` event and keep the session
    (GPT-Live: "a command error does not close the session")."""
    async with call_rig([HELLO, Reply("Yes, go ahead.", audio_ms=200)], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        session = rig.sim.sessions[0]
        session.send_error("server_error", "The server had an error while processing your request.")
        await rig.wait_event("voice_error")
        await session.callee_says("Hello? Are you there?")
        await rig.media.wait_sent((200 + 200) * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert len(rig.sim.sessions) == 1 and result.metrics.reconnects == 0 and not result.agent_failure
    assert [t.text for t in result.transcript if t.speaker == "agent"] == [HELLO.text, "Yes, go ahead."]
    assert rig.event("voice_error").data == {"code": "server_error", "fatal": False}
