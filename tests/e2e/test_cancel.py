"""Cancelling a task ends its call: at once while it rings, with a short goodbye once answered.

The cancel is what the web app does (`web.services.cancel_task`: the row moves and a NOTIFY goes
out); the node holding the call learns it from the NOTIFY, like any other node would.
"""

from __future__ import annotations

from db import calls, transcripts
from engine.voice.simulator.script import Reply, Turn
from tests.e2e.harness import NO_ANSWER, TALKER
from web.services import cancel_task

GOODBYE = Reply("I'm sorry, we no longer need this. Goodbye!", audio_ms=1000)


class SaysGoodbyeWhenCancelled:
    """Talks on and on; answers the owner-cancel instruction with one goodbye."""

    def reply(self, turn: Turn) -> Reply:
        if turn.response_instructions and "cancelled" in turn.response_instructions:
            return GOODBYE
        return Reply("Hello, I'm calling for Ada about her appointment, and I have a few questions.", audio_ms=2000)


async def ended_call(running, task):
    async def check():
        found = await running.calls_of(task)
        return found[0] if found and found[0].status == "ended" else None

    return await running.tap.until(check, 20, "the call to end")


async def test_cancelling_a_ringing_call_hangs_it_up_before_anyone_answers(make_node):
    running = await make_node(ring_timeout_s=60)  # it would ring for a minute
    user = await running.user()
    task = await running.schedule(user, NO_ANSWER, "Ask the garage when the car is ready")
    await running.wait_for_task(task, ("dialing",))
    await running.model.wait_for_session()  # the agent gets ready while the phone rings
    [call] = await running.calls_of(task)
    assert running.pbx.leftovers()["channels"] == [str(call.id)]

    cancelled = await cancel_task(running.pool, user.id, task.id)
    assert cancelled.status == "cancelled"

    ended = await ended_call(running, task)
    await running.pbx.wait_until(lambda: running.pbx.leftovers() == {"channels": [], "bridges": []})
    assert ended.answered_at is None
    assert ended.detail == "cancelled by the owner while ringing"
    await running.node.lifecycle.dialer.wait_idle()
    assert (await running.wait_for_task(task, ("cancelled",))).status == "cancelled"
    assert running.node.lifecycle.dialer.last_error == ""
    await running.model.wait_until_all_closed()


async def test_cancelling_during_the_call_says_goodbye_then_hangs_up(make_node):
    running = await make_node()
    running.script(SaysGoodbyeWhenCancelled())
    user = await running.user()
    task = await running.schedule(user, TALKER, "Move Ada's appointment to Tuesday")
    await running.wait_for_task(task, ("in_call",))
    [call] = await running.calls_of(task)

    async def greeted():
        return [t for t in await transcripts.list_turns(running.pool, user.id, call.id) if t.speaker == "agent"]

    await running.tap.until(greeted, 20, "the agent's first turn")
    callee = running.pbx.pbx.answered[str(call.id)]

    await cancel_task(running.pool, user.id, task.id)

    ended = await ended_call(running, task)
    await running.pbx.wait_until(lambda: running.pbx.leftovers() == {"channels": [], "bridges": []})
    await running.settle()
    agent_turns = [t.text for t in await transcripts.list_turns(running.pool, user.id, call.id)
                   if t.speaker == "agent"]
    assert agent_turns[-1] == GOODBYE.text
    assert any("cancelled" in (e.get("response", {}).get("instructions") or "")
               for e in running.model.received("response.create"))
    assert ended.detail == "cancelled by the owner during the call; the agent said goodbye and hung up"
    assert ended.hangup_by == "agent", ended
    assert len(callee.heard) >= 8 * 1000  # the goodbye (1 s of mu-law) reached the callee's ear
    await running.node.lifecycle.dialer.wait_idle()
    final = await running.wait_for_task(task, ("cancelled",))
    assert final.status == "cancelled"
    assert running.node.lifecycle.dialer.last_error == ""
    assert (await calls.get_call(running.pool, user.id, call.id)).verdict is None


async def test_the_cancel_reaches_whichever_node_holds_the_call(make_node):
    """Two nodes share the database; the cancel (a row move + NOTIFY) ends the call where it is."""
    nodes = [await make_node(ring_timeout_s=60), await make_node(ring_timeout_s=60)]
    user = await nodes[0].user()
    task = await nodes[0].schedule(user, NO_ANSWER, "Ask the garage when the car is ready")
    claimed = await nodes[0].wait_for_task(task, ("dialing",))
    holder = next(n for n in nodes if n.node.node_id == claimed.claimed_by)
    await holder.model.wait_for_session()
    other = next(n for n in nodes if n is not holder)

    await cancel_task(other.pool, user.id, task.id)  # e.g. the web app behind the other node

    ended = await ended_call(other, task)
    assert ended.detail == "cancelled by the owner while ringing"
    await holder.pbx.wait_until(lambda: holder.pbx.leftovers() == {"channels": [], "bridges": []})
    await holder.model.wait_until_all_closed()
    assert other.pbx.leftovers() == {"channels": [], "bridges": []} and not other.model.sessions
    await holder.node.lifecycle.dialer.wait_idle()
    assert holder.node.lifecycle.dialer.last_error == ""
