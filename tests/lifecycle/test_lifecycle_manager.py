"""The LifecycleManager as a Node runs it: scheduler wake-ups, NOTIFY wake-ups, clean shutdown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from db import tasks
from db.models import TaskStatus
from db.tasks import TaskDraft, TaskMove
from engine.lifecycle.build import LifecycleModels, build_lifecycle
from engine.lifecycle.manager import LifecycleManager
from engine.ports.agent import CallReport, ObjectiveResult
from engine.settings import Settings
from engine.tasks.states import move_task
from tests.lifecycle.fakes import FakeTelephony, ScriptedAgent

# Calls are placed at the real time here: a window open all day keeps the test independent of it.
ALL_DAY = {"window": {"start": "00:00", "end": "24:00"}}


def settings(**overrides) -> Settings:
    # A long tick: whatever dials within the test's timeout was woken by a date job or a NOTIFY.
    values = {"node_id": "node-t", "dispatch_interval_s": 60.0, "max_concurrent_calls": 5}
    return Settings(**{**values, **overrides})


def manager(db, url, phone, agent=None, **overrides) -> LifecycleManager:
    agent = agent or ScriptedAgent(lambda t: CallReport(objective=ObjectiveResult(True, "Done")))
    return build_lifecycle(settings(**overrides), db, url, phone, agent, models=LifecycleModels(),
                           sweep_interval_s=3600, heartbeat_interval_s=3600)


def draft(number="+12125550123") -> TaskDraft:
    return TaskDraft(phone_number=number, objective="Ask", constraints=ALL_DAY)


async def test_a_date_job_dials_a_task_at_its_next_attempt_time(db, own_database_url, new_user):
    user = await new_user()
    task = await tasks.create_task(db, user.id, draft(), schedule_at=datetime.now(UTC) + timedelta(seconds=0.5))
    phone = FakeTelephony()
    lifecycle = manager(db, own_database_url, phone)
    await lifecycle.start()
    try:
        await phone.wait_for_originates(1, timeout=20)
        assert phone.originated[0].labels["task_id"] == str(task.id)
    finally:
        await lifecycle.close()


async def test_a_task_scheduled_elsewhere_is_dialled_on_its_notify(db, own_database_url, new_user):
    user = await new_user()
    phone = FakeTelephony()
    lifecycle = manager(db, own_database_url, phone)
    await lifecycle.start()
    try:
        task = await tasks.create_task(db, user.id, draft())  # a draft: nothing to dial yet
        await move_task(db, user.id, task.id, TaskMove(to=TaskStatus.SCHEDULED, why="Scheduled by you",
                                                       changes={"next_attempt_at": datetime.now(UTC)}))
        await phone.wait_for_originates(1, timeout=20)
        assert phone.originated[0].labels["task_id"] == str(task.id)
    finally:
        await lifecycle.close()


async def test_close_hangs_up_cancels_everything_and_reschedules_its_calls(db, own_database_url, new_user):
    user = await new_user()
    task = await tasks.create_task(db, user.id, draft(), schedule_at=datetime.now(UTC) - timedelta(seconds=1))
    phone = FakeTelephony(hold_answers=True)  # the callee never picks up
    lifecycle = manager(db, own_database_url, phone, test_mode=True, test_destination="+15005550006")
    await lifecycle.start()
    await phone.wait_for_originates(1, timeout=20)
    status = await lifecycle.status()
    assert (status.ok, status.mode, status.details["active_calls"]) == (True, "test", 1)
    assert await db.fetchval("SELECT count(*) FROM nodes WHERE id = 'node-t'") == 1
    await lifecycle.close()

    call = phone.calls[phone.originated[0].call_id]
    assert call.hangups == ["engine shutting down"]
    moved = await tasks.get_task(db, user.id, task.id)
    assert moved.status == "retry_scheduled" and moved.claimed_by is None
    assert await db.fetchval("SELECT status FROM calls WHERE task_id = $1", task.id) == "ended"
    assert await db.fetchval("SELECT count(*) FROM nodes") == 0
    leftovers = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(
        ("attempt-", "dialer-", "sweeps-", "heartbeat-"))]
    assert leftovers == []


async def test_without_a_voice_agent_the_node_does_not_dial(db, own_database_url, new_user):
    user = await new_user()
    await tasks.create_task(db, user.id, draft(), schedule_at=datetime.now(UTC) - timedelta(seconds=1))
    phone = FakeTelephony()
    lifecycle = build_lifecycle(settings(), db, own_database_url, phone, None, models=LifecycleModels())
    await lifecycle.start()
    try:
        status = await lifecycle.status()
        assert (status.mode, status.reason) == ("not dialling", "no voice agent")
    finally:
        await lifecycle.close()
    assert phone.originated == []


async def test_a_campaign_whose_last_task_ends_gets_its_summary(db, own_database_url, new_user):
    from db import campaigns, dnd
    from db.pool import connect
    from engine.tasks.campaigns import create_campaign_with_tasks

    user = await new_user()
    await dnd.add_number(db, user.id, "+12125550188", reason="asked by phone")
    campaign, _ = await create_campaign_with_tasks(
        db, user.id, title="Plumbers", schedule_at=datetime.now(UTC) - timedelta(seconds=1),
        drafts=[draft("+12125550187"), draft("+12125550188")],
    )
    listener = await connect(own_database_url)
    finished = asyncio.Event()
    await listener.add_listener("opendeep_events", lambda *a: '"campaign"' in a[3] and finished.set())
    phone = FakeTelephony()
    lifecycle = manager(db, own_database_url, phone)
    await lifecycle.start()
    try:
        await asyncio.wait_for(finished.wait(), 20)
    finally:
        await lifecycle.close()
        await listener.close()
    done = await campaigns.get_campaign(db, user.id, campaign.id)
    assert done.status == "completed"
    assert done.summary.startswith("Plumbers: 1 of 2 tasks succeeded; 1 blocked dnd.")
    assert [r.destination for r in phone.originated] == ["+12125550187"]  # the blocked number was never dialled
