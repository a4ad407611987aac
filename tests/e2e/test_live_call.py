"""A whole call through a node built like `opendeep serve` with OPENDEEP_VOICE_PROVIDER=live: the PBX
simulator, ARI, media, the GPT-Live adapter over the SDK and the Live simulator, analysis, health."""

from __future__ import annotations

from prometheus_client import generate_latest

from db import events, transcripts
from engine import metrics
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from tests.e2e.harness import TALKER

GREETING = Reply("Hello, this is an AI assistant calling for Ada. Is this the front desk?", audio_ms=2000)
ASK = Reply("Ada would like to move her cleaning to a Tuesday afternoon. Is there a slot?", audio_ms=1500)
GOODBYE = Reply(
    "Tuesday at three, perfect. Thank you, goodbye!",
    audio_ms=1000,
    tool_calls=(
        SimToolCall("record_outcome", {"achieved": True, "summary": "Cleaning moved to Tuesday at 3 pm"}),
        SimToolCall("end_call", {"reason": "appointment moved"}),
    ),
)


async def test_a_call_on_gpt_live_goes_end_to_end(make_node):
    running = await make_node(voice_provider="live", live_model="gpt-live-1.1", live_voice="cedar")
    health = await running.node.health()
    assert health["voice_model"]["ok"] and health["voice_model"]["details"]["provider"] == "live"
    assert health["voice_model"]["details"]["model"] == "gpt-live-1.1"
    running.script(ScriptedReplies([GREETING, ASK, GOODBYE]))
    user = await running.user("Ada")
    task = await running.schedule(user, TALKER, "Move Ada's cleaning to a Tuesday afternoon", callee_name="Front desk")

    done = await running.wait_for_task(task)
    await running.settle()

    assert done.status == "succeeded", done
    assert done.result["summary"] == "Cleaning moved to Tuesday at 3 pm"
    [call] = await running.calls_of(done)
    assert (call.status, call.outcome, call.hangup_by) == ("ended", "answered", "agent")
    # Which provider and model served the call, and what it cost: per active second on Live.
    assert call.metrics["voice_provider"] == "live" and call.metrics["voice_model"] == "gpt-live-1.1"
    assert call.metrics["usage"]["active_seconds"] > 0 and call.metrics["estimated_cost_usd"] > 0
    assert call.metrics["tool_calls"] == 2
    exposed = generate_latest(metrics.REGISTRY).decode()
    assert 'opendeep_voice_calls_total{model="gpt-live-1.1",provider="live"}' in exposed

    # What the Live service was sent: one session.start with mu-law both ways, the callee's audio, no Realtime events.
    [start] = running.model.received("session.start")
    assert start["session"]["model"] == "gpt-live-1.1"
    assert start["session"]["audio"] == {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}}
    assert "Move Ada's cleaning to a Tuesday afternoon" in start["session"]["instructions"]
    assert {t["name"] for t in start["session"]["delegation"]["responses"]["tools"]} >= {"end_call", "record_outcome"}
    assert running.model.received("session.input_audio.append"), "the callee's audio never reached the model"
    assert not running.model.received("response.cancel") and not running.model.received("conversation.item.truncate")

    # What the callee heard ends with the whole goodbye; the transcript holds both sides.
    heard = bytes(running.pbx.callee(str(call.id)).heard)
    assert len(heard) % 160 == 0 and len(heard) >= GOODBYE.duration_ms * 8
    turns = await transcripts.list_turns(running.pool, user.id, call.id)
    assert {t.speaker for t in turns} == {"agent", "callee"}  # the callee speaks first (their hello), then both
    assert turns[-1].speaker == "agent" and turns[-1].text.endswith(GOODBYE.text)
    steps = [e.kind for e in await events.list_call_events(running.pool, user.id, call.id)]
    assert not {"voice_error", "agent_failure", "goodbye_mark_lost"} & set(steps), steps
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}
