"""User B can never read, list, change or delete user A's rows, through any query function."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta

import pytest

from db import calls, campaigns, dnd, events, hitl, tasks, transcripts, users
from db.errors import InvalidInput, NotFound, TransitionRefused
from db.tasks import TaskDraft, TaskMove

NOW = datetime.now(UTC)
TENANT_MODULES = (campaigns, tasks, calls, transcripts, events, hitl, dnd)
EXERCISED: set[str] = set()


def exercised(*names: str) -> None:
    EXERCISED.update(names)


@pytest.fixture
async def world(pool, make_user):
    """User A with one of everything; user B with nothing."""
    alice, bob = await make_user(), await make_user()
    campaign = await campaigns.create_campaign(pool, alice.id, title="Dentist")
    task = await tasks.create_task(
        pool, alice.id, TaskDraft(phone_number="+14155550123", objective="Move the cleaning"), campaign_id=campaign.id
    )
    call = await calls.create_call(pool, alice.id, task.id, attempt=1, node_id="n1", destination=task.phone_number)
    await transcripts.add_turn(pool, alice.id, call.id, speaker="agent", text="Hello", started_at=NOW)
    await events.add_call_event(pool, alice.id, call.id, kind="ringing", message="Ringing")
    await events.add_ari_events(pool, alice.id, call.id, [(NOW, "StasisStart", str(call.id), {"type": "StasisStart"})])
    question = await hitl.create_request(pool, alice.id, task.id, question="Thursday 3pm?", deadline=NOW + timedelta(minutes=1))
    await dnd.add_number(pool, alice.id, "+14155550199", reason="asked")
    return alice, bob, campaign, task, call, question


async def test_reads_and_lists_see_nothing_of_another_user(pool, world):
    alice, bob, campaign, task, call, question = world
    for read in (
        lambda: campaigns.get_campaign(pool, bob.id, campaign.id),
        lambda: tasks.get_task(pool, bob.id, task.id),
        lambda: calls.get_call(pool, bob.id, call.id),
        lambda: hitl.get_request(pool, bob.id, question.id),
    ):
        with pytest.raises(NotFound):
            await read()
    assert await campaigns.list_campaigns(pool, bob.id) == []
    assert await tasks.list_tasks(pool, bob.id) == []
    assert await tasks.list_tasks(pool, bob.id, campaign_id=campaign.id) == []
    assert await tasks.count_tasks_by_status(pool, bob.id) == {}
    assert await calls.list_calls(pool, bob.id) == []
    assert await calls.list_calls(pool, bob.id, task_id=task.id) == []
    assert await calls.list_calls(pool, bob.id, tests=True) == []
    await calls.create_call(pool, alice.id, task.id, attempt=1, node_id="", destination="browser", is_test=True)
    assert await calls.count_recent_test_calls(pool, bob.id) == 0
    assert await calls.count_recent_test_calls(pool, alice.id) == 1
    # A plan's test call (no task): Bob can neither read it nor ask a question on it.
    planned = await calls.create_plan_test_call(pool, alice.id, node_id="", draft={"task": {"phone_number": "+1"}})
    with pytest.raises(NotFound):
        await calls.get_call(pool, bob.id, planned.id)
    with pytest.raises(NotFound):
        await hitl.create_request(pool, bob.id, planned.id, question="x", deadline=NOW, call_id=planned.id)
    assert await calls.list_calls(pool, bob.id, tests=True) == []
    assert await transcripts.list_turns(pool, bob.id, call.id) == []
    assert await events.list_task_events(pool, bob.id, task.id) == []
    assert await events.list_call_events(pool, bob.id, call.id) == []
    assert await events.list_ari_events(pool, bob.id) == []
    assert await events.list_ari_events(pool, bob.id, call_id=call.id) == []
    assert await hitl.list_requests(pool, bob.id) == []
    assert await hitl.list_inbox_requests(pool, bob.id) == []
    assert await hitl.count_open_requests(pool, bob.id) == 0
    assert await dnd.list_numbers(pool, bob.id) == []
    assert await dnd.blocking_entry(pool, bob.id, "+14155550199") is None
    # ...while A sees all of it
    assert [t.id for t in await tasks.list_tasks(pool, alice.id)] == [task.id]
    assert len(await events.list_ari_events(pool, alice.id, call_id=call.id)) == 1
    assert (await dnd.blocking_entry(pool, alice.id, "+14155550199")) is not None
    assert await hitl.count_open_requests(pool, alice.id) == 1
    [asked] = await hitl.list_inbox_requests(pool, alice.id)
    assert (asked.id, asked.phone_number, asked.objective) == (question.id, "+14155550123", "Move the cleaning")
    exercised(
        "create_campaign", "get_campaign", "get_task", "get_call", "get_request", "list_campaigns", "list_tasks",
        "count_tasks_by_status", "list_calls", "list_turns", "list_task_events", "list_call_events",
        "list_ari_events", "list_requests", "list_inbox_requests", "count_open_requests", "list_numbers", "blocking_entry",
        "count_recent_test_calls", "create_plan_test_call",
    )


async def test_writes_cannot_touch_another_users_rows(pool, world):
    alice, bob, campaign, task, call, question = world
    draft = TaskDraft(phone_number="+14155550100", objective="hijack")
    for write in (
        lambda: campaigns.finish_campaign(pool, bob.id, campaign.id, status="completed", summary="x"),
        lambda: tasks.update_task(pool, bob.id, task.id, draft),
        lambda: tasks.transition_task(pool, bob.id, task.id, TaskMove(expected="draft", to="scheduled", why="x")),
        lambda: tasks.merge_task_context(pool, bob.id, task.id, {"x": 1}),
        lambda: tasks.create_task(pool, bob.id, draft, campaign_id=campaign.id),
        lambda: calls.create_call(pool, bob.id, task.id, attempt=2, node_id="n", destination="+1"),
        lambda: calls.mark_answered(pool, bob.id, call.id, NOW),
        lambda: calls.finish_call(pool, bob.id, call.id, outcome="busy", ended_at=NOW),
        lambda: calls.set_call_metrics(pool, bob.id, call.id, {"x": 1}),
        lambda: calls.set_call_verdict(pool, bob.id, call.id, verdict="failed", reason="x"),
        lambda: transcripts.add_turn(pool, bob.id, call.id, speaker="callee", text="x", started_at=NOW),
        lambda: events.add_task_event(pool, bob.id, task.id, kind="note", message="x"),
        lambda: events.add_call_event(pool, bob.id, call.id, kind="note", message="x"),
        lambda: calls.set_recording(pool, bob.id, call.id, "../alice.wav"),
        lambda: events.add_ari_events(pool, bob.id, call.id, [(NOW, "X", None, {})]),
        lambda: hitl.create_request(pool, bob.id, task.id, question="x", deadline=NOW),
        lambda: hitl.answer_request(pool, bob.id, question.id, "yes"),
        lambda: hitl.answer_request_after_call(pool, bob.id, question.id, "yes"),
        lambda: hitl.append_user_answer(pool, bob.id, task.id, {"question": "x", "answer": "y"}),
        lambda: dnd.remove_number(pool, bob.id, "+14155550199"),
    ):
        with pytest.raises(NotFound):
            await write()
    assert await hitl.close_request(pool, bob.id, question.id, status="cancelled") is False

    # Nothing changed for A.
    fresh_task = await tasks.get_task(pool, alice.id, task.id)
    assert (fresh_task.status, fresh_task.objective, fresh_task.context) == ("draft", "Move the cleaning", {})
    fresh_call = await calls.get_call(pool, alice.id, call.id)
    assert (fresh_call.status, fresh_call.metrics, fresh_call.verdict, fresh_call.recording) == ("dialing", {}, None, None)
    assert len(await transcripts.list_turns(pool, alice.id, call.id)) == 1
    assert (await hitl.get_request(pool, alice.id, question.id)).status == "open"
    assert (await campaigns.get_campaign(pool, alice.id, campaign.id)).status == "active"
    assert len(await dnd.list_numbers(pool, alice.id)) == 1
    exercised(
        "finish_campaign", "update_task", "transition_task", "merge_task_context", "create_task", "create_call",
        "mark_answered", "finish_call", "set_call_metrics", "set_call_verdict", "add_turn", "add_task_event",
        "add_call_event", "add_ari_events", "create_request", "answer_request", "remove_number", "close_request",
        "answer_request_after_call", "_answer",  # the statement both answer functions run
        "append_user_answer", "set_recording",
    )


async def test_deletes_cannot_remove_another_users_rows(pool, world):
    alice, bob, campaign, task, call, question = world
    with pytest.raises(NotFound):
        await tasks.delete_task(pool, bob.id, task.id)
    with pytest.raises(NotFound):
        await campaigns.delete_campaign(pool, bob.id, campaign.id)
    assert (await tasks.get_task(pool, alice.id, task.id)).id == task.id
    # The owner can delete.
    await campaigns.delete_campaign(pool, alice.id, campaign.id)
    with pytest.raises(NotFound):
        await tasks.get_task(pool, alice.id, task.id)
    exercised("delete_task", "delete_campaign")


async def test_same_number_on_two_users_dnd_lists_is_independent(pool, make_user):
    alice, bob = await make_user(), await make_user()
    await dnd.add_number(pool, alice.id, "+14155550111")
    await dnd.add_number(pool, bob.id, "+14155550111")
    await dnd.remove_number(pool, alice.id, "+14155550111")
    assert await dnd.blocking_entry(pool, alice.id, "+14155550111") is None
    assert await dnd.blocking_entry(pool, bob.id, "+14155550111") is not None
    exercised("add_number")


async def test_recent_campaigns_are_counted_per_user(pool, world):
    alice, bob, *_ = world
    assert await campaigns.count_recent_campaigns(pool, bob.id) == 0
    assert await campaigns.count_recent_campaigns(pool, alice.id) == 1
    exercised("count_recent_campaigns")


@pytest.mark.parametrize("lock", [campaigns.lock_user_campaigns, calls.lock_user_test_calls])
async def test_a_users_quota_lock_holds_back_only_that_user(pool, world, lock):
    alice, bob, *_ = world
    async with pool.acquire() as first, pool.acquire() as other, pool.acquire() as second:
        held = first.transaction()
        await held.start()
        await lock(first, alice.id)
        async with other.transaction():
            await asyncio.wait_for(lock(other, bob.id), 5)  # Bob is not held back by Alice's lock
        async with second.transaction():
            waiting = asyncio.create_task(lock(second, alice.id), name="test-second-alice-lock")
            async with asyncio.timeout(5):
                while not await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
                    await asyncio.sleep(0.01)
            assert not waiting.done()  # Alice's second request waits for her first...
            await held.commit()
            await asyncio.wait_for(waiting, 5)  # ...until that one's transaction ends
    exercised(lock.__name__)


def test_every_tenant_query_function_is_exercised():
    """A new query function taking user_id must be added to the tests above."""
    declared = {
        name
        for module in TENANT_MODULES
        for name, fn in inspect.getmembers(module, inspect.iscoroutinefunction)
        if fn.__module__ == module.__name__ and "user_id" in inspect.signature(fn).parameters
    }
    missing = declared - EXERCISED
    assert not missing, f"tenant isolation not tested for: {sorted(missing)}"


async def test_users_module_has_no_cross_tenant_listing_by_accident(pool, make_user):
    # users are the tenants themselves; a profile update touches only that user
    alice, bob = await make_user(), await make_user()
    await users.update_profile(pool, alice.id, display_name="Alice", time_zone="Europe/Berlin", profile={"a": 1})
    assert (await users.get_user(pool, bob.id)).display_name == ""
    with pytest.raises(InvalidInput):
        await users.update_profile(pool, alice.id, display_name="A", time_zone="Mars/Olympus", profile={})


async def test_busy_task_cannot_be_deleted(pool, make_user):
    alice = await make_user()
    task = await tasks.create_task(
        pool, alice.id, TaskDraft(phone_number="+14155550123", objective="x"), schedule_at=NOW
    )
    await tasks.transition_task(pool, alice.id, task.id, TaskMove(expected="scheduled", to="dialing", why="Dialing"))
    with pytest.raises(TransitionRefused):
        await tasks.delete_task(pool, alice.id, task.id)
