"""The owner's leg over ARI, against the PBX simulator, without a browser: the call ending while the
owner listens tears the owner's channel down with everything else, and the simulator holds the
mute requests to what Asterisk accepts."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from ari_apps.rest_client import AriError
from db import calls, events, transcripts
from engine.voice.simulator.script import Reply, ScriptedReplies
from tests.e2e.harness import TALKER, RunningNode


async def live_call(running: RunningNode, user: Any) -> Any:
    """Dial the talker and return the call once its audio is connected."""
    task = await running.schedule(user, TALKER, "Move Ada's cleaning to a Tuesday afternoon")

    async def connected() -> Any:
        for call in await calls.list_calls(running.pool, user.id, task_id=task.id):
            kinds = {e.kind for e in await events.list_call_events(running.pool, user.id, call.id)}
            if "media_connected" in kinds:
                return call
        return None

    return await running.tap.until(connected, 20, "the call's audio to connect")


async def test_the_call_ending_while_the_owner_listens_tears_the_owners_leg_down(make_node):
    running = await make_node()
    running.script(ScriptedReplies(default=Reply("Let me check that for Ada.", audio_ms=1200)))
    user = await running.user()
    call = await live_call(running, user)
    leg = await running.node.telephony.join_owner(str(call.id))
    assert f"{call.id}-owner" in running.pbx.leftovers()["channels"]

    frames = leg.audio()
    assert len(await anext(frames)) == 160  # 20 ms of μ-law: the call, as the owner hears it
    with pytest.raises(AriError) as refused:  # Asterisk answers 400 without a direction, whatever the spec says
        await running.node.telephony._rest.request("POST", f"/channels/{call.id}-owner/mute")
    assert refused.value.status == 400

    await running.pbx.callee_hangup(str(call.id))
    async with asyncio.timeout(10):
        async for _ in frames:  # the owner's socket closes with the call
            pass
    await running.pbx.wait_until(lambda: not running.pbx.leftovers()["channels"] and not running.pbx.leftovers()["bridges"])
    assert leg.closed


async def test_the_owner_cannot_join_a_call_this_node_does_not_hold(make_node):
    running = await make_node()
    with pytest.raises(LookupError):
        await running.node.telephony.join_owner(str(uuid.uuid4()))
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}


@pytest.mark.parametrize("transport", ["websocket", "audiosocket"])
async def test_the_agent_learns_the_owner_joined_talked_and_left_on_every_media_transport(make_node, transport):
    running = await make_node(media_transport=transport)
    responder = ScriptedReplies(default=Reply("Let me check that for Ada.", audio_ms=600))
    running.script(responder)
    user = await running.user()
    call = await live_call(running, user)
    leg = await running.node.telephony.join_owner(str(call.id))
    await leg.talk()
    await leg.hand_back()
    await leg.leave()

    def told() -> bool:
        return any("handed the call back" in json.dumps(t.new_items) for t in responder.turns)

    await running.model.wait_for(told, timeout=20)

    async def notes() -> list[str] | None:
        await running.settle()
        said = [t.text for t in await transcripts.list_turns(running.pool, user.id, call.id) if t.speaker == "system"]
        return said if len(said) == 4 else None

    said = await running.tap.until(notes, 20, "the owner's four moves in the transcript")
    assert said == [
        "The owner joined the call (listening).",
        "The owner took the call over; the agent is muted.",
        "The owner handed the call back to the agent.",
        "The owner left the call.",
    ], said
    still = await calls.get_call(running.pool, user.id, call.id)
    assert still.ended_at is None, "the owner's moves ended the call"
