"""Tools during a live call: validation, end_call and its mark, HITL, DTMF, machines."""

from __future__ import annotations

import asyncio
import json

from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import call_rig, realtime_only

HELLO = Reply("Hello, this is an AI assistant.", audio_ms=200)


def outputs(rig) -> list[dict]:
    return [json.loads(item["output"]) for item in rig.sent_items("function_call_output")]


async def test_bad_arguments_reach_the_model_and_the_call_goes_on(provider: str) -> None:
    replies = [
        Reply("Let me press a key.", audio_ms=100, tool_calls=(SimToolCall("send_dtmf", {"digits": "12a"}),)),
        Reply("Sorry.", audio_ms=100, tool_calls=(SimToolCall("send_dtmf", "{not json"),)),
        Reply("Again.", audio_ms=100, tool_calls=(SimToolCall("send_dtmf", {"digits": "1#"}),)),
    ]
    async with call_rig(replies, provider=provider) as rig:
        await rig.sim.wait_for(lambda: len(rig.sent_items("function_call_output")) == 3)
        assert rig.call.dtmf == ["1#"]
        errors = outputs(rig)
        assert "digits" in errors[0]["error"] and errors[1]["error"].startswith("invalid arguments")
        assert errors[2] == {"sent": "1#"}
        # greeting + one after each refusal; on Live every delegated call is continued (response.create),
        # the successful one too: the backend decides whether anything is said after it
        assert len(rig.speak_requests()) == (3 if provider == "realtime" else 4)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert [c.ok for c in result.tool_calls] == [False, False, True]
    assert not result.agent_failure


@realtime_only("GPT-Live has no response lifecycle: no create to refuse with an active response")
async def test_tool_result_racing_a_vad_response(provider: str) -> None:
    replies = [
        Reply(
            "When would suit you?",
            audio_ms=100,
            tool_calls=(SimToolCall("schedule_callback", {"when": "2026-03-03T15:00:00+01:00"}),),
        ),
        Reply("Sorry, go on.", audio_ms=100),  # the VAD response that wins the race
        Reply("I'll call back tomorrow at three.", audio_ms=100),
    ]

    async def vad_wins(session, event) -> None:
        if event["item"].get("type") == "function_call_output":
            session.start_response("speech", callee_text="hm?")

    async with call_rig(
        replies, prepare=lambda sim: sim.before("conversation.item.create", vad_wins), provider=provider
    ) as rig:
        await rig.media.wait_sent(300 * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    errors = [e for e in rig.recorder.events["call-1"] if e.kind == "voice_error"]
    assert errors[0].data["code"] == "conversation_already_has_active_response"
    assert not result.agent_failure
    assert [t.text for t in result.transcript][-1] == "I'll call back tomorrow at three."
    assert result.callback is not None


async def test_end_call_waits_for_the_goodbye_to_play(provider: str) -> None:
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


async def test_end_call_hangs_up_when_the_mark_is_lost(provider: str) -> None:
    bye = Reply("Goodbye!", audio_ms=500, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))
    async with call_rig([bye], autoplay=False, provider=provider) as rig:
        rig.media.drop_marks = True
        await rig.media.wait_sent(500 * 8)
        if provider == "live":  # no end of the goodbye is marked: its turn ends once its audio could have played
            await rig.advance_when_due(0.5)
        await rig.wait_timer(0.5 + 3.0)  # the goodbye's length plus the grace period
        rig.clock.advance(0.5 + 3.0)
        await rig.call.wait_hung_up()
        await rig.result()
    assert "goodbye_mark_lost" in rig.recorder.kinds("call-1")


async def test_user_info_answer_is_injected_and_the_model_continues(provider: str) -> None:
    ask = Reply(
        "Let me check that with Anna.",
        audio_ms=200,
        tool_calls=(
            SimToolCall(
                "request_user_info",
                {
                    "question": "Is Tuesday 15:00 fine?",
                    "timeout_seconds": 60,
                    "recipient_message": "One moment please.",
                },
            ),
        ),
    )
    async with call_rig(
        [ask, Reply("One moment please.", audio_ms=200), Reply("Yes, 15:00 works.", audio_ms=200)], provider=provider
    ) as rig:
        question = await rig.broker.wait_for_question()
        assert (question.task_id, question.call_id, question.question) == ("task-7", "call-1", "Is Tuesday 15:00 fine?")
        assert outputs(rig)[0]["tell_the_callee"] == "One moment please."
        rig.broker.answer("Yes, Tuesday 15:00 is fine.")
        await rig.wait_speak_request(count=3)
        notes = rig.notes()
        assert any("Yes, Tuesday 15:00 is fine." in note for note in notes)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.user_answers == (("Is Tuesday 15:00 fine?", "Yes, Tuesday 15:00 is fine."),)
    assert result.pending_question is None
    assert {"hitl_asked", "hitl_answered"} <= set(rig.recorder.kinds("call-1"))


async def test_an_answer_arriving_mid_reply_is_spoken_after_that_reply(provider: str) -> None:
    ask = Reply(
        "Let me check that with Anna.",
        audio_ms=200,
        tool_calls=(SimToolCall("request_user_info", {"question": "Is Tuesday 15:00 fine?"}),),
    )
    holding = Reply("One moment please, I am checking.", audio_ms=1000, hold_after_ms=200)
    # The callee hears the replies as the test plays them: on GPT-Live, which marks no end of a turn, the
    # model is mid-reply while what it sent is still playing.
    final = Reply("Yes, 15:00 works.", audio_ms=200)
    async with call_rig([ask, holding, final], autoplay=False, provider=provider) as rig:
        await rig.broker.wait_for_question()
        await rig.wait_speak_request(count=2)
        await rig.media.wait_sent((200 + 200) * 8)  # the second reply is streaming, held half-way
        await rig.media.play(300)
        assert rig.model_speaking(rig.sim.sessions[0])
        rig.broker.answer("Yes, Tuesday 15:00 is fine.")
        await rig.sim.wait_for(
            lambda: any("Tuesday 15:00 is fine" in note for note in rig.notes())
        )
        await asyncio.sleep(0.05)
        # The answer's reply waits for the one in progress instead of being refused by the model.
        assert len(rig.speak_requests()) == 2
        rig.sim.sessions[0].release()
        await rig.media.wait_sent((200 + 1000) * 8)
        await rig.media.play(900)
        await rig.wait_speak_request(count=3)
        await rig.media.wait_sent((200 + 1000 + 200) * 8)
        await rig.media.play(200)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert "voice_error" not in rig.recorder.kinds("call-1")
    assert [t.text for t in result.transcript if t.speaker == "agent"][-1] == "Yes, 15:00 works."
    assert result.user_answers == (("Is Tuesday 15:00 fine?", "Yes, Tuesday 15:00 is fine."),)


async def test_user_info_timeout_ends_the_call_as_pending(provider: str) -> None:
    ask = Reply(
        "Let me check.", audio_ms=200, tool_calls=(SimToolCall("request_user_info", {"question": "Which day?"}),)
    )
    async with call_rig(
        [ask, Reply("One moment.", audio_ms=100), Reply("I will call you back. Goodbye.", audio_ms=200)],
        provider=provider,
    ) as rig:
        await rig.broker.wait_for_question()
        rig.broker.expire()
        await rig.wait_speak_request(count=3)
        notes = rig.notes()
        assert any("call back" in note and "end_call" in note for note in notes)
        await rig.clock.wait_sleepers(1)  # the model did not end the call: the runtime will
        rig.clock.advance(30)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.pending_question is not None and result.pending_question.question == "Which day?"
    assert "hitl_timeout" in rig.recorder.kinds("call-1")
    assert result.hangup_by == "agent" and not result.agent_failure


async def test_incoming_dtmf_becomes_context_and_gets_a_reaction(provider: str) -> None:
    async with call_rig([HELLO, Reply("You pressed five.", audio_ms=100)], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        rig.media.press("5")
        await rig.sim.wait_for(lambda: rig.notes())
        assert "pressed the key '5'" in rig.notes()[0]
        if provider == "realtime":  # on Live a note is a thinking append: silent context by definition
            assert rig.sent_items("message")[0]["role"] == "system"
        creates = len(rig.speak_requests())
        # No voice activity follows keys: once they stop (and the greeting has played), the agent reacts.
        for _ in range(10):
            rig.clock.advance(0.5)
            try:
                await rig.sim.wait_for(lambda: len(rig.speak_requests()) > creates, timeout=0.2)
                break
            except TimeoutError:
                continue
        assert len(rig.speak_requests()) == creates + 1
        rig.call.callee_hangs_up()
        await rig.result()


async def test_answering_machine_hang_up_policy(provider: str) -> None:
    machine = Reply("", audio_ms=0, tool_calls=(SimToolCall("answering_machine_detected", {"evidence": "beep"}),))
    async with call_rig([HELLO, machine], provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)
        await rig.sim.sessions[0].callee_says("You have reached the voicemail of Dr. Weber. Beep.")
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert result.answering_machine and not result.voicemail_left
    assert result.end_reason == "answering machine"
