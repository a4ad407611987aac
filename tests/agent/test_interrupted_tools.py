"""Tool calls of a turn the callee interrupted, and a goodbye the callee interrupts.

Realtime: the service also sends `response.function_call_arguments.done` for a cancelled response
(openai SDK, ResponseFunctionCallArgumentsDoneEvent): after `speech_started` has cancelled it, before
its `response.done`. GPT-Live: the model delegated the call as it took the floor, yields when the
callee talks over it, and the backend runs on and delivers the call afterwards. Hanging up or pressing
keys on such a call would act on words the callee cut off; data the model recorded is kept.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.agent.state import CallState
from engine.voice.live_turns import SEGMENT_GAP_S
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import Rig, call_rig

AGAIN = Reply("Of course, what is it?", audio_ms=300)


def held(name: str, arguments: dict) -> Reply:
    """A goodbye the model streams 1 s of and holds, with a tool call the callee's interruption must not lose."""
    return Reply(
        "Thank you so much for your help, goodbye and have a nice day.",
        audio_ms=2000,
        hold_after_ms=1000,
        tool_calls=(SimToolCall(name, arguments),),
    )


def outputs(rig: Rig) -> list[dict]:
    return [json.loads(item["output"]) for item in rig.sent_items("function_call_output")]


async def interrupt_the_tool_call(rig: Rig) -> None:
    """The callee speaks into the turn; its tool call still arrives, and gets an output."""
    await rig.media.wait_sent(1000 * 8)
    await rig.media.play(200)
    await rig.callee_starts_speaking()  # Realtime: the service cancels (turn_detected); Live: the model yields
    await rig.sim.wait_for(lambda: outputs(rig))


async def test_an_interrupted_end_call_does_not_hang_up(provider: str) -> None:
    async with call_rig([held("end_call", {"reason": "done"}), AGAIN], autoplay=False, provider=provider) as rig:
        await interrupt_the_tool_call(rig)
        [bye] = outputs(rig)
        assert "not run" in bye["error"]
        await rig.callee_stops_speaking("Wait, one more thing.")
        await rig.media.wait_sent((1000 + 300) * 8)
        await rig.media.play(300)
        assert rig.agent.status.state is CallState.CONVERSING and rig.call.hangups == []
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.hangup_by == "callee" and result.end_reason is None
    assert [(c.name, c.ok) for c in result.tool_calls] == [("end_call", False)]
    assert "Of course, what is it?" in [t.text for t in result.transcript]


async def test_interrupted_keys_are_not_pressed(provider: str) -> None:
    async with call_rig([held("send_dtmf", {"digits": "1"}), AGAIN], autoplay=False, provider=provider) as rig:
        await interrupt_the_tool_call(rig)
        [keys] = outputs(rig)
        assert "not run" in keys["error"]
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert rig.call.dtmf == [] and result.dtmf_sent == ()


async def test_an_interrupted_record_outcome_is_kept(provider: str) -> None:
    outcome = held("record_outcome", {"achieved": True, "summary": "Moved to Tuesday 15:00"})
    async with call_rig([outcome, AGAIN], autoplay=False, provider=provider) as rig:
        await interrupt_the_tool_call(rig)
        assert outputs(rig) == [{"recorded": True}]
        await rig.callee_stops_speaking("Wait, one more thing.")
        await rig.media.wait_sent((1000 + 300) * 8)
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert result.objective is not None and result.objective.summary == "Moved to Tuesday 15:00"
    # the callee's speech gets its own (VAD) answer; the kept tool asks for none besides
    assert len(rig.speak_requests()) == 1  # the greeting's


@pytest.mark.parametrize("provider", ["live"])
async def test_a_call_delivered_before_the_model_is_seen_to_yield_waits_for_it(provider: str) -> None:
    """GPT-Live: the callee talks over the model and it goes quiet, but only a quiet of SEGMENT_GAP_S
    tells a yield from a pause. A call its backend delivers within that gap waits to see which it was."""
    goodbye = held("end_call", {"reason": "done"})
    async with call_rig([goodbye, AGAIN], autoplay=False, provider=provider, live_gap_s=SEGMENT_GAP_S) as rig:
        await rig.media.wait_sent(1000 * 8)  # sent at once, at 0 s on the call's clock
        await rig.media.play(100)
        await rig.callee_starts_speaking()  # the model yields; its backend runs on and delivers end_call
        live = rig.sim.sessions[0]
        await rig.sim.wait_for(lambda: live.pending_calls)
        live.send_error("server_error", "a hiccup")  # what the adapter reads next: it has read end_call too
        await rig.wait_event("voice_error")
        assert "tool_call" not in rig.kinds() and rig.agent.status.state is CallState.CONVERSING
        await rig.advance_when_due(SEGMENT_GAP_S)  # quiet for the gap: the model yielded
        await rig.sim.wait_for(lambda: outputs(rig))
        assert "not run" in outputs(rig)[0]["error"]
        rig.call.callee_hangs_up()
        result = await rig.result()
    assert rig.call.hangups == [] and [(c.name, c.ok) for c in result.tool_calls] == [("end_call", False)]


async def test_a_goodbye_the_callee_interrupts_goes_back_to_the_conversation(provider: str) -> None:
    bye = Reply("Thank you, goodbye!", audio_ms=1000, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))
    last = Reply("Then see you Tuesday.", audio_ms=300, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))
    async with call_rig([bye, Reply("Yes, of course?", audio_ms=300), last], autoplay=False, provider=provider) as rig:
        await rig.media.wait_sent(1000 * 8)
        await rig.wait_event("tool_call")  # the goodbye is under way: end_call waits for it to be played
        assert rig.agent.status.state is CallState.ENDING
        await rig.media.play(400)
        callee = rig.sim.sessions[0]
        await rig.callee_starts_speaking()
        back = await rig.recorder.wait_for_event("call-1", "goodbye_interrupted")
        assert rig.agent.status.state is CallState.CONVERSING and rig.call.hangups == []
        await rig.callee_stops_speaking("Wait, is it Tuesday?")
        await rig.media.wait_sent((1000 + 300) * 8)
        await rig.media.play(300)
        await callee.callee_stops_speaking("Thanks.")
        await rig.media.wait_sent((1000 + 300 + 300) * 8)
        await rig.media.play(300)
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert "goodbye" in back.message
    assert result.hangup_by == "agent" and result.end_reason == "done"
    texts = [t.text for t in result.transcript if t.speaker == "agent"]
    assert texts[-2:] == ["Yes, of course?", "Then see you Tuesday."]


async def test_a_line_that_cuts_every_goodbye_short_is_hung_up_on_the_third() -> None:
    """Seen on a real trunk to an echo line: the agent's own goodbye came back ~100 ms later, the
    VAD took it for the callee, and the call went round ending -> conversing for good."""
    def bye(text: str) -> Reply:
        return Reply(text, audio_ms=1000, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))

    async with call_rig([bye("Goodbye!"), bye("Goodbye then!"), bye("Bye now!")], autoplay=False) as rig:
        callee = rig.sim.sessions[0]
        for n in range(3):
            await rig.media.wait_sent(1000 * 8 * (n + 1))
            await rig.clock.wait_sleepers(1)  # the goodbye is under way: waiting for its mark
            assert rig.agent.status.state is CallState.ENDING
            await rig.media.play(100)
            await callee.callee_starts_speaking()
            if n < 2:
                while rig.kinds().count("goodbye_interrupted") <= n:
                    await asyncio.sleep(0.001)
                assert rig.agent.status.state is CallState.CONVERSING and rig.call.hangups == []
                await callee.callee_stops_speaking("Goodbye!")
        await rig.call.wait_hung_up()
        result = await rig.result()
    assert "goodbye_interrupted_again" in rig.kinds()
    assert result.hangup_by == "agent" and result.end_reason == "done"
