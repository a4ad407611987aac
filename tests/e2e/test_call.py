"""One whole call through a node built like `opendeep serve`: dialer, ARI, media, voice model, analysis."""

from __future__ import annotations

from db import events, transcripts
from engine.voice.codecs import ulaw_to_pcm16
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from tests.e2e.harness import TALKER

GREETING = Reply("Hello, this is an AI assistant calling for Ada. Is this the front desk?", audio_ms=2000)
ASK = Reply("Ada would like to move her cleaning to a Tuesday afternoon. Is there a slot?", audio_ms=1500)
GOODBYE = Reply(
    "Tuesday at three, perfect. Thank you, goodbye!",
    audio_ms=1000,
    tool_calls=(
        SimToolCall("record_outcome", {"achieved": True, "summary": "Cleaning moved to Tuesday at 3 pm",
                                       "facts_learned": ["Tuesday 3 pm is booked"]}),
        SimToolCall("end_call", {"reason": "appointment moved"}),
    ),
)
ULAW_BYTES_PER_MS = 8


def rms(pcm: bytes) -> float:
    import numpy as np

    samples = np.frombuffer(pcm, "<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


async def test_a_scheduled_task_is_called_talked_through_and_concluded(make_node):
    running = await make_node()
    script = ScriptedReplies([GREETING, ASK, GOODBYE])
    running.script(script)
    user = await running.user("Ada")
    task = await running.schedule(user, TALKER, "Move Ada's cleaning to a Tuesday afternoon", callee_name="Front desk",
                                  success_criteria="A confirmed Tuesday afternoon slot")

    done = await running.wait_for_task(task)
    await running.settle()

    # The task: one attempt, concluded from the model's record_outcome.
    assert done.status == "succeeded", done
    assert done.attempt_count == 1
    assert done.result["summary"] == "Cleaning moved to Tuesday at 3 pm"
    task_events = await events.list_task_events(running.pool, user.id, task.id)
    assert [(e.from_status, e.to_status) for e in task_events] == [
        (None, "scheduled"), ("scheduled", "dialing"), ("dialing", "in_call"), ("in_call", "succeeded"),
    ]
    assert [e.message for e in task_events][1:] == [
        "Dialing (attempt 1 of 5)", "Call answered", "Succeeded: Cleaning moved to Tuesday at 3 pm",
    ]

    # The call: answered, hung up by the agent after its goodbye, normal clearing.
    [call] = await running.calls_of(done)
    call_id = str(call.id)
    assert (call.status, call.outcome, call.q850_cause, call.hangup_by) == ("ended", "answered", 16, "agent")
    assert call.destination == TALKER and call.node_id == running.node.node_id
    assert call.originated_at <= call.answered_at <= call.ended_at
    assert call.verdict == "succeeded"
    first_audio = call.metrics["time_to_first_audio_ms"]
    assert isinstance(first_audio, (int, float)) and first_audio >= 0
    assert call.metrics["tool_calls"] == 2 and call.metrics["usage"]["output_audio_tokens"] > 0

    # The model was driven by what happened on the line: the callee's turns only. The callee says hello
    # first; the model answers the end of it by itself (the agent asks for no response of its own).
    assert [t.trigger for t in script.turns] == ["speech", "speech", "speech"]
    [update] = running.model.received("session.update")
    assert "Move Ada's cleaning to a Tuesday afternoon" in update["session"]["instructions"]
    assert update["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert running.model.received("input_audio_buffer.append"), "the callee's audio never reached the model"

    # What the callee heard: the agent's audio as 20 ms mu-law frames, all of the greeting (no longer cut
    # short by the callee's hello: the agent waits for it), the question and the goodbye.
    callee = running.pbx.callee(call_id)
    heard = bytes(callee.heard)
    full = (GREETING.duration_ms + ASK.duration_ms + GOODBYE.duration_ms) * ULAW_BYTES_PER_MS
    assert len(heard) % 160 == 0
    assert len(heard) == full, len(heard)
    assert call.metrics["barge_ins"] == 0
    assert rms(ulaw_to_pcm16(heard[-8000:])) > 1000  # the goodbye is sound, not silence
    assert callee.log[:2] == ["say greeting", "say reply 1"]

    # The transcript holds both sides, in order, with the agent's last words.
    turns = await transcripts.list_turns(running.pool, user.id, call.id)
    speakers = [t.speaker for t in turns]
    assert speakers[0] == "callee" and speakers[-1] == "agent" and speakers.count("callee") >= 2, speakers
    texts = [t.text for t in turns]
    assert ASK.text in texts and texts[-1] == GOODBYE.text
    assert all(t.started_at >= call.answered_at for t in turns)

    # Call steps and the raw ARI events of every channel of the call.
    steps = [e.kind for e in await events.list_call_events(running.pool, user.id, call.id)]
    for kind in ("ringing", "answered", "media_connected", "tool_call", "hangup", "ended"):
        assert kind in steps, (kind, steps)
    assert not {"voice_error", "agent_failure", "goodbye_mark_lost"} & set(steps), steps
    ari = await events.list_ari_events(running.pool, user.id, call_id=call.id)
    seen = {(e.event_type, e.channel_id) for e in ari}
    media = f"{call_id}-media"
    for expected in [("StasisStart", call_id), ("ChannelDestroyed", call_id), ("StasisStart", media),
                     ("ChannelDestroyed", media), ("BridgeDestroyed", f"{call_id}-bridge")]:
        assert expected in seen, expected
    assert next(e for e in ari if (e.event_type, e.channel_id) == ("ChannelDestroyed", call_id)).payload["cause"] == 16

    # Nothing is left on the phone system.
    assert running.pbx.leftovers() == {"channels": [], "bridges": []}
