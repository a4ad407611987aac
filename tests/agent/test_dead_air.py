"""Dead air and the call's limits in time.

Seen on a real trunk: a callee who answered and said nothing held the call (and the paid model
session) for 61.8 s, until their side hung up; a Realtime session ends hard at 60 minutes.
Time is the injected clock's.
"""

from __future__ import annotations

from engine.agent.options import AgentSessionOptions
from engine.voice.simulator.script import Reply
from tests.agent.rig import SETUP_EVENT, call_rig

GREETING = Reply("Hello, this is an AI assistant calling on behalf of Anna Schmidt.", audio_ms=400)
CHECK_IN = Reply("Hello, are you still there?", audio_ms=800)
GOODBYE = Reply("I'll try again another time. Goodbye!", audio_ms=600)
DEAD_AIR = AgentSessionOptions(dead_air_s=8.0, max_call_s=None, session_handover_s=None)


async def played(rig, ms: int) -> None:
    """Wait until `ms` of agent audio (over the call) reached the callee."""
    await rig.media.wait_sent(ms * 8)
    await rig.agent.playout.wait_played_ms(ms)


def instructions(rig) -> list[str]:
    return [rig.spoken_instructions(e) for e in rig.speak_requests()]


async def test_a_silent_line_gets_one_check_in_then_a_goodbye_and_ends_as_no_response(provider: str) -> None:
    async with call_rig([GREETING, CHECK_IN, GOODBYE], options=DEAD_AIR, supervise=True, provider=provider) as rig:
        await played(rig, 400)
        await rig.advance_when_due(8.0)
        await rig.wait_event("dead_air_check_in")
        await played(rig, 400 + 800)
        await rig.advance_when_due(8.0)
        await rig.call.wait_hung_up()
        result = await rig.result()

    assert "are you still there?" in instructions(rig)[1] and "goodbye" in instructions(rig)[2]
    greeting, check_in, goodbye = result.transcript
    assert (check_in.started_at - greeting.ended_at).total_seconds() == 8.0
    assert (goodbye.started_at - check_in.ended_at).total_seconds() == 8.0
    assert not goodbye.truncated  # the goodbye played to its end before the hang-up
    assert result.no_response and result.end_reason == "no response" and result.hangup_by == "agent"
    assert rig.clock.monotonic() < 20.0  # not the 61.8 s seen on the real line
    assert rig.kinds().index("dead_air_check_in") < rig.kinds().index("no_response") < rig.kinds().index("hangup")


async def test_an_answer_to_the_check_in_keeps_the_call_going(provider: str) -> None:
    replies = [GREETING, CHECK_IN, Reply("Great. I'm calling about Anna's appointment.", audio_ms=500), CHECK_IN]
    async with call_rig(replies, options=DEAD_AIR, supervise=True, provider=provider) as rig:
        await played(rig, 400)
        await rig.advance_when_due(8.0)
        await played(rig, 400 + 800)
        await rig.sim.sessions[0].callee_says("Yes, sorry, I'm here.")
        await played(rig, 400 + 800 + 500)
        await rig.advance_when_due(8.0)  # silent again: a new check-in, not a goodbye
        await played(rig, 400 + 800 + 500 + 800)
        assert "hangup" not in rig.kinds() and rig.call.hangups == []
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert not result.no_response
    assert [t.text for t in result.transcript if t.speaker == "agent"][-1] == "Hello, are you still there?"


async def test_no_check_in_while_the_owner_is_being_asked(provider: str) -> None:
    from engine.voice.simulator.script import SimToolCall

    ask = Reply(
        "One moment please, let me check.",
        audio_ms=300,
        tool_calls=(SimToolCall("request_user_info", {"question": "Is 15:00 fine?", "timeout_seconds": 60}),),
    )
    options = AgentSessionOptions(
        dead_air_s=8.0, max_call_s=None, session_handover_s=None, hitl_timeout_s=60, hitl_reassure_every_s=10_000
    )
    async with call_rig(
        [GREETING, ask, Reply("Okay.", audio_ms=200)], options=options, supervise=True, provider=provider
    ) as rig:
        await played(rig, 400)
        await rig.sim.sessions[0].callee_says("Would 15:00 work?")
        await rig.broker.wait_for_question()
        await played(rig, 400 + 300)
        for _ in range(3):  # 24 s of silence while the owner is asked
            await rig.advance_when_due(8.0)
        assert "dead_air_check_in" not in rig.kinds()
        rig.call.callee_hangs_up()
        await rig.result()


async def test_the_call_length_cap_wraps_up_politely_and_hangs_up(provider: str) -> None:
    options = AgentSessionOptions(dead_air_s=None, max_call_s=60.0, session_handover_s=None)
    wrap_up = Reply("I'm afraid I have to end the call now. Thank you, goodbye!", audio_ms=700)
    async with call_rig([GREETING, wrap_up], options=options, supervise=True, provider=provider) as rig:
        await played(rig, 400)
        await rig.advance_when_due(60.0)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert "time limit" in instructions(rig)[1]
    assert [t.text for t in result.transcript][-1] == wrap_up.text and not result.transcript[-1].truncated
    assert result.hangup_by == "agent" and rig.event("hangup").data == {"reason": "call length limit"}
    assert "call_limit" in rig.kinds()


async def test_a_fresh_model_session_takes_over_at_a_quiet_moment_without_a_gap(provider: str) -> None:
    options = AgentSessionOptions(dead_air_s=None, max_call_s=None, session_handover_s=30.0)
    replies = [
        GREETING,
        Reply("Tuesday at three works, thank you.", audio_ms=500),
        Reply("Yes, exactly.", audio_ms=300),
    ]
    async with call_rig(replies, options=options, supervise=True, provider=provider) as rig:
        old = rig.sim.sessions[0]
        await played(rig, 400)
        await rig.callee_starts_speaking(old)  # the callee is speaking when the handover is due
        await rig.advance_when_due(30.0)
        new = await rig.sim.wait_for_session(1)  # opened while the old one still runs
        assert all(e["type"] == SETUP_EVENT[provider] for e in new.received)  # set up, not switched to yet
        await rig.callee_stops_speaking("Can we do Tuesday at three?", old)  # the old session answers this turn
        await played(rig, 400 + 500)
        await rig.sim.wait_for(lambda: rig.notes(new))
        await new.callee_says("So Tuesday at three?")
        await played(rig, 400 + 500 + 300)
        rig.call.callee_hangs_up()
        result = await rig.result()

    [note] = rig.notes(new)
    assert "taking over" in note and "Tuesday at three works" in note  # the whole conversation, after the last reply
    assert [t.text for t in result.transcript if t.speaker == "agent"] == [
        GREETING.text,
        "Tuesday at three works, thank you.",
        "Yes, exactly.",
    ]
    assert not any(t.truncated for t in result.transcript)
    assert result.metrics.reconnects == 0 and "voice_session_lost" not in rig.kinds()
    assert "voice_session_handover" in rig.kinds()
    assert not rig.speak_requests()[1:]  # no apology or greeting from the new session


async def test_no_dead_air_check_while_the_owner_holds_the_call(provider: str) -> None:
    """The owner took the call over by voice (the agent muted): silence is theirs, not the callee's."""
    async with call_rig([GREETING, CHECK_IN, GOODBYE], options=DEAD_AIR, supervise=True, provider=provider) as rig:
        await played(rig, 400)
        rig.agent.owner_holding = True
        await rig.advance_when_due(8.0)
        await rig.advance_when_due(8.0)
        await rig.advance_when_due(8.0)
        assert "dead_air_check_in" not in rig.kinds() and "no_response" not in rig.kinds()
        rig.agent.owner_holding = False  # handed back: the silence counts again
        await rig.advance_when_due(8.0)
        await rig.wait_event("dead_air_check_in")
        rig.call.callee_hangs_up()
        await rig.result()
