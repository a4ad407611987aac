"""Phone keys both ways through the whole stack: the callee's keys reach the model, the model's reach the callee."""

from __future__ import annotations

from typing import Any

from db import events
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from engine.voice.simulator.session import SimulatedSession
from tests.e2e.harness import DTMF, IVR


def pressed(digit: str) -> str:
    return f"The callee pressed the key '{digit}' on their phone keypad."


def notes(running: Any) -> list[str]:
    items = [e["item"] for e in running.model.received("conversation.item.create")]
    return [i["content"][0]["text"] for i in items if i.get("type") == "message"]


async def test_keys_pressed_by_the_callee_reach_the_model_and_the_models_keys_reach_the_callee(make_node):
    running = await make_node()
    running.script(ScriptedReplies([
        Reply("Hello, this is an AI assistant calling for Ada about her account.", audio_ms=800),
        Reply("Thank you, that is all.", audio_ms=400, tool_calls=(
            SimToolCall("send_dtmf", {"digits": "4217"}),
            SimToolCall("record_outcome", {"achieved": True, "summary": "Entered the account PIN"}),
            SimToolCall("end_call", {"reason": "PIN entered"}),
        )),
    ]))

    async def answer_after_the_last_key(session: SimulatedSession, event: dict[str, Any]) -> None:
        # The fake model answers once the callee's keys (1 2 3 #) are all in its conversation.
        content = (event.get("item") or {}).get("content") or [{}]
        if content[0].get("text") == pressed("#"):
            session.start_response("response.create")

    running.model.before("conversation.item.create", answer_after_the_last_key)
    user = await running.user()
    task = await running.schedule(user, DTMF, "Enter Ada's account PIN when the system asks for it")

    done = await running.wait_for_task(task)
    await running.settle()

    assert done.status == "succeeded", done
    [call] = await running.calls_of(done)
    callee = running.pbx.callee(str(call.id))
    assert callee.digits == ["4", "2", "1", "7"]  # exactly what the model sent, once
    assert [n for n in notes(running) if "pressed the key" in n] == [pressed(d) for d in "123#"]
    steps = await events.list_call_events(running.pool, user.id, call.id)
    assert [s.message for s in steps if s.kind == "dtmf_received"] == [f"the callee pressed {d}" for d in "123#"]
    assert [s.data for s in steps if s.kind == "dtmf_sent"] == [{"digits": "4217"}]
    ari = await events.list_ari_events(running.pool, user.id, call_id=call.id, event_type="ChannelDtmfReceived")
    assert [e.payload["digit"] for e in ari] == list("123#")
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}


async def test_the_model_walks_a_phone_menu_and_the_menu_hangs_up(make_node):
    running = await make_node()
    running.script(ScriptedReplies([
        Reply("Hello.", audio_ms=300),  # the greeting, while the menu is read out
        Reply("", audio_ms=0, tool_calls=(SimToolCall("send_dtmf", {"digits": "2"}),)),  # after the menu
        Reply("", audio_ms=0, tool_calls=(  # after "option 2"
            SimToolCall("record_outcome", {"achieved": True, "summary": "Reached billing through option 2"}),
            SimToolCall("send_dtmf", {"digits": "#"}),
        )),
    ]))
    user = await running.user()
    task = await running.schedule(user, IVR, "Reach the billing department through the phone menu")

    done = await running.wait_for_task(task)
    await running.settle()

    [call] = await running.calls_of(done)
    callee = running.pbx.callee(str(call.id))
    assert callee.digits == ["2", "#"]
    assert "menu 2" in callee.log and callee.log[-1] == "hangup 16"
    assert (call.outcome, call.q850_cause, call.hangup_by) == ("answered", 16, "callee")
    assert done.status == "succeeded" and done.result["summary"] == "Reached billing through option 2"
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}


async def test_keys_the_phone_system_refuses_are_a_tool_error_for_the_model_and_the_call_goes_on(make_node):
    running = await make_node()
    goodbye = Reply("I could not press the key, so I will call back later. Goodbye.", audio_ms=400,
                    tool_calls=(SimToolCall("end_call", {"reason": "keys refused"}),))
    running.script(ScriptedReplies([
        Reply("Hello, I will press one for the front desk.", audio_ms=400,
              tool_calls=(SimToolCall("send_dtmf", {"digits": "1"}),)),
        goodbye,
    ]))
    running.pbx.fail_next("POST", "/dtmf", 412, "Channel in invalid state")
    user = await running.user()
    task = await running.schedule(user, IVR, "Reach the front desk")

    done = await running.wait_for_task(task)
    await running.settle()

    outputs = [e["item"]["output"] for e in running.model.received("conversation.item.create")
               if e["item"].get("type") == "function_call_output"]
    assert len(outputs) == 1 and "could not send the keys 1" in outputs[0], outputs
    [call] = await running.calls_of(done)
    assert call.hangup_by == "agent", call
    steps = await events.list_call_events(running.pool, user.id, call.id)
    assert "dtmf_failed" in [s.kind for s in steps]
    assert [s.message for s in steps if s.kind == "hangup"] == ["the agent hung up (keys refused)"]
    assert running.node.lifecycle.dialer.last_error == ""
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}
