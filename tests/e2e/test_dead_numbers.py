"""Dead numbers through the whole stack: the network's intercept ends the attempt as a wrong number,
never retried, whether it comes as early media (signalling) or answers with SIT tones (audio only)."""

from __future__ import annotations

from db import events
from engine.voice.simulator.script import Reply, ScriptedReplies

ANSWERED_INTERCEPT = "+12025550117"  # answers, SIT tones, "not in service" (ari_apps/simulator/personas.py)
EARLY_MEDIA_INTERCEPT = "+12025550116"  # early media "not in service", then cause 1, never answers


async def test_an_answered_intercept_is_a_dead_number_and_the_task_fails(make_node):
    running = await make_node()
    running.script(ScriptedReplies([Reply("Hello, I am calling for Anna about her appointment.", audio_ms=4000)]))
    user = await running.user()
    task = await running.schedule(user, ANSWERED_INTERCEPT, "Move Anna's cleaning to a Tuesday afternoon")
    done = await running.wait_for_task(task)
    assert done.status == "failed" and "Dead number" in (done.failure_reason or ""), done
    [call] = await running.calls_of(done)
    assert call.answered_at is not None and call.verdict == "wrong_number" and call.hangup_by == "agent"
    steps = [s.kind for s in await events.list_call_events(running.pool, user.id, call.id)]
    assert "intercept" in steps and "voicemail" not in steps
    await running.model.wait_until_all_closed()


async def test_an_early_media_intercept_is_a_dead_number_too(make_node):
    running = await make_node(ring_timeout_s=15)
    user = await running.user()
    task = await running.schedule(user, EARLY_MEDIA_INTERCEPT, "Ask whether the prescription is ready")
    done = await running.wait_for_task(task, timeout=40)
    assert done.status == "failed", done
    [call] = await running.calls_of(done)
    assert call.answered_at is None and call.outcome == "unallocated" and call.verdict == "wrong_number"
