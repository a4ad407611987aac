"""Calls nobody answers, through the whole stack: stored outcome and cause, a retry, readable events."""

from __future__ import annotations

from datetime import UTC, datetime

from db import events
from tests.e2e.harness import BUSY, NO_ANSWER


async def test_busy_and_unanswered_calls_are_stored_and_retried(make_node):
    running = await make_node(ring_timeout_s=5)
    user = await running.user()
    busy = await running.schedule(user, BUSY, "Ask the pharmacy whether the prescription is ready")
    silent = await running.schedule(user, NO_ANSWER, "Ask the garage when the car is ready")
    started = datetime.now(UTC)

    busy_done = await running.wait_for_task(busy)
    silent_done = await running.wait_for_task(silent)
    await running.settle()

    expected = {busy.id: ("busy", 17, "busy", "The line was busy"),
                silent.id: ("no_answer", 19, "no answer", "Nobody answered")}
    for task in (busy_done, silent_done):
        outcome, cause, words, lead = expected[task.id]
        assert task.status == "retry_scheduled", task
        assert task.attempt_count == 1 and task.next_attempt_at > started
        [call] = await running.calls_of(task)
        assert (call.status, call.outcome, call.q850_cause) == ("ended", outcome, cause), call
        assert call.answered_at is None and call.ended_at is not None
        assert call.verdict == "retry"
        assert call.metrics == {}  # no conversation, no agent metrics

        task_events = await events.list_task_events(running.pool, user.id, task.id)
        assert [(e.from_status, e.to_status) for e in task_events] == [
            (None, "scheduled"), ("scheduled", "dialing"), ("dialing", "retry_scheduled"),
        ]
        retry = task_events[-1]
        assert retry.call_id == call.id
        assert retry.message.startswith(lead) and ". Retry scheduled for " in retry.message, retry.message
        assert retry.message.endswith(f"({words}, attempt 2 of 5)"), retry.message

        steps = await events.list_call_events(running.pool, user.id, call.id)
        assert "ended" in [s.kind for s in steps]
        ari = await events.list_ari_events(running.pool, user.id, call_id=call.id)
        destroyed = [e for e in ari if e.event_type == "ChannelDestroyed" and e.channel_id == str(call.id)]
        assert [e.payload["cause"] for e in destroyed] == [cause]
        assert "StasisStart" not in {e.event_type for e in ari}

    assert running.pbx.leftovers() == {"channels": [], "bridges": []}
    # the model sessions opened while the phones rang are closed, seen from the model's side
    assert running.model.sessions
    await running.model.wait_until_all_closed()
