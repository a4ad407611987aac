"""One reply per callee turn. When the callee's speech makes the service start a response (VAD)
just before a response.create of ours arrives, the service refuses ours; our create must not come
back as a second, unprompted reply once the first is done. A tool result still gets its one
follow-up (tests/agent/test_call_tools.py: the tool result racing a VAD response)."""

from __future__ import annotations

import pytest

from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import call_rig, realtime_only

HELLO = Reply("Hello, this is an AI assistant.", audio_ms=200)
REPLY = Reply("Reply to the callee.", audio_ms=300)
# Still under way when the agent cancels it, as a real response would be (it sends nothing before that):
# the agent's cancel then always goes out, whenever its reader sees the response's events.
SECOND = Reply("A second, unprompted reply.", audio_ms=400, hold_after_ms=0)
LAST = Reply("Fine.", audio_ms=200)


@realtime_only("GPT-Live has no response lifecycle: no create can race a VAD response")
@pytest.mark.parametrize("created_first", [True, False], ids=["created-then-refused", "refused-then-created"])
async def test_a_create_racing_the_vad_response_of_the_turn_is_not_a_second_reply(
    created_first: bool, provider: str
) -> None:
    async def callee_speaks_first(session, event) -> None:
        if sum(e["type"] == "response.create" for e in session.received) == 2:
            await session.callee_says("Sorry, I pressed the wrong key. Who is calling?")
            if created_first:  # as the service does: its response.created goes out before our refusal
                await session.next_sent("response.created")

    async with call_rig(
        [HELLO, REPLY, SECOND, LAST],
        prepare=lambda sim: sim.before("response.create", callee_speaks_first),
        provider=provider,
    ) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.media.press("5")  # keys alone trigger no VAD: the agent reacts once they stop ...
        await rig.sim.wait_for(lambda: rig.notes())
        await rig.clock.wait_sleepers(1)
        rig.clock.advance(1.5)
        # ... and its response.create reaches the service just after the callee's speech started one
        await rig.sim.wait_for(lambda: len(rig.replies.turns) == 3)
        await rig.recorder.wait_for_turns("call-1", 3)
        # The agent cancels the second reply before the callee speaks again. The service hears the callee in
        # audio the agent sends after that cancel, on the same socket, so it handles the cancel first; the
        # simulator's scripted turn would overtake it (that order is the next test's).
        await rig.wait_model_reply_stopped()
        await rig.sim.sessions[0].callee_says("Thanks.")
        await rig.recorder.wait_for_turns("call-1", 5)
        rig.call.callee_hangs_up()
        result = await rig.result()
    errors = [e.data["code"] for e in rig.recorder.events["call-1"] if e.kind == "voice_error"]
    assert errors == ["conversation_already_has_active_response"]  # the race happened
    assert [t.text for t in result.transcript if t.speaker == "agent"] == [HELLO.text, REPLY.text, LAST.text]
    assert rig.media.sent_ms == 200 + 300 + 200


@realtime_only("GPT-Live has no response lifecycle and no response.cancel")
async def test_the_late_cancel_of_a_second_reply_does_not_cut_the_answer_to_the_next_turn(provider: str) -> None:
    """The agent's response.cancel of the second reply reaches the service only after the callee's next turn
    started the answer to it (the callee's audio, sent before the cancel, ended that turn first). The
    cancel names the second reply, so the answer plays in full."""

    async def callee_speaks_first(session, event) -> None:
        if sum(e["type"] == "response.create" for e in session.received) == 2:
            await session.callee_says("Sorry, I pressed the wrong key. Who is calling?")
            await session.next_sent("response.created")

    async def cancel_arrives_late(session, event) -> None:
        await session.callee_says("Thanks.")  # its speech stops the second reply (turn_detected) ...
        await session.next_sent("response.created")  # ... and the service starts the answer to it

    def prepare(sim) -> None:
        sim.before("response.create", callee_speaks_first)
        sim.before("response.cancel", cancel_arrives_late)

    async with call_rig([HELLO, REPLY, SECOND, LAST], prepare=prepare, provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.media.press("5")  # as in the racing-create test: the agent's create becomes the second reply
        await rig.sim.wait_for(lambda: rig.notes())
        await rig.clock.wait_sleepers(1)
        rig.clock.advance(1.5)
        await rig.sim.wait_for(lambda: len(rig.replies.turns) == 4)  # the answer to "Thanks." started
        await rig.recorder.wait_for_turns("call-1", 5)
        rig.call.callee_hangs_up()
        result = await rig.result()
    errors = [e.data["code"] for e in rig.recorder.events["call-1"] if e.kind == "voice_error"]
    assert errors == ["conversation_already_has_active_response"]  # the race; the refused cancel is no error
    assert [t.text for t in result.transcript if t.speaker == "agent"] == [HELLO.text, REPLY.text, LAST.text]
    assert rig.media.sent_ms == 200 + 300 + 200
    [second] = [e.data["response_id"] for e in rig.recorder.events["call-1"] if e.kind == "second_reply_cancelled"]
    [cancel] = rig.sim.received("response.cancel")
    assert cancel.get("response_id") == second


async def test_a_tool_result_of_the_turns_answer_gets_exactly_one_follow_up(provider: str) -> None:
    answer = Reply(
        "Let me note that.",
        audio_ms=300,
        tool_calls=(
            SimToolCall("schedule_callback", {"local_time": "2026-03-03T15:00", "time_zone": "Europe/Berlin"}),
        ),
    )
    async with call_rig(
        [HELLO, answer, Reply("I will call you back tomorrow at three.", audio_ms=300)], provider=provider
    ) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.sim.sessions[0].callee_says("Call me tomorrow at three.")
        await rig.recorder.wait_for_turns("call-1", 4)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert [t.text for t in result.transcript if t.speaker == "agent"] == [
        HELLO.text,
        "Let me note that.",
        "I will call you back tomorrow at three.",
    ]
    assert len(rig.speak_requests()) == 2  # the greeting and the one follow-up
    assert result.callback is not None
