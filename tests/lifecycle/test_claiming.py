"""Claiming due tasks: exactly once across nodes, in priority order, within concurrency limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from db import dispatch, tasks
from db.pool import create_pool
from db.tasks import TaskDraft
from engine.lifecycle.analysis import RuleAnalyzer
from engine.lifecycle.attempt import AttemptOptions, CallAttempt
from engine.lifecycle.dialer import Dialer, DialLimits
from engine.lifecycle.policy import DialPolicy
from engine.ports.agent import CallReport, ObjectiveResult
from tests.clock import ManualClock
from tests.lifecycle.fakes import FakeTelephony, ScriptedAgent

# Tuesday 10:00 in Los Angeles (the +1 415 numbers below): inside the default window.
NOW = datetime(2030, 1, 8, 18, 0, tzinfo=UTC)


async def insert_due_tasks(pool, user_id: int, count: int, *, due: datetime = NOW - timedelta(minutes=1)):
    """Many scheduled tasks in one statement (create_task would take a round trip each)."""
    return await pool.fetch(
        """INSERT INTO tasks (user_id, phone_number, objective, status, next_attempt_at, max_attempts)
           SELECT $1, '+1415555' || lpad(g::text, 4, '0'), 'Ask the opening hours', 'scheduled', $2, 3
           FROM generate_series(1, $3) g RETURNING id""",
        user_id,
        due,
        count,
    )


def make_dialer(pool, telephony, *, node_id: str, capacity: int = 20, per_user: int = 1000, clock=None):
    agent = ScriptedAgent(lambda task: CallReport(objective=ObjectiveResult(True, "Open 9 to 5")))
    clock = clock or ManualClock(NOW)
    attempt = CallAttempt(pool, telephony, agent, DialPolicy(), RuleAnalyzer(), clock, AttemptOptions(node_id=node_id))
    return Dialer(pool, attempt, DialLimits(max_concurrent_calls=capacity, per_user=per_user), clock)


async def test_two_nodes_dial_each_of_1000_due_tasks_exactly_once(db, own_database_url, new_user):
    users = [await new_user() for _ in range(4)]
    for user in users:
        await insert_due_tasks(db, user.id, 250)
    pool_a = await create_pool(own_database_url, size=5)
    pool_b = await create_pool(own_database_url, size=5)
    phone_a, phone_b = FakeTelephony(), FakeTelephony()
    node_a = make_dialer(pool_a, phone_a, node_id="node-a")
    node_b = make_dialer(pool_b, phone_b, node_id="node-b")
    try:
        node_a.start()
        node_b.start()

        async def all_final() -> None:
            while await db.fetchval("SELECT count(*) FROM tasks WHERE status <> 'succeeded'"):
                await asyncio.wait_for(asyncio.gather(node_a.wait_idle(), node_b.wait_idle()), 30)
                node_a.wake()
                node_b.wake()
                await asyncio.sleep(0)  # let the woken loops claim before checking again

        await asyncio.wait_for(all_final(), 120)
    finally:
        await node_a.close()
        await node_b.close()
        await pool_a.close()
        await pool_b.close()
    per_task = phone_a.originates_per_task() + phone_b.originates_per_task()
    assert len(per_task) == 1000
    assert set(per_task.values()) == {1}
    assert phone_a.originated and phone_b.originated, "both nodes should have dialled"
    assert await db.fetchval("SELECT count(*) FROM calls") == 1000
    assert await db.fetchval("SELECT count(DISTINCT task_id) FROM calls") == 1000
    claims = await db.fetchval("SELECT count(*) FROM task_events WHERE to_status = 'dialing'")
    assert claims == 1000


async def test_claim_order_is_priority_then_waiting_time(db, new_user):
    user = await new_user()
    low_old = await tasks.create_task(db, user.id, TaskDraft(phone_number="+14155550001", objective="a", priority=0),
                                      schedule_at=NOW - timedelta(hours=2))
    high_new = await tasks.create_task(db, user.id, TaskDraft(phone_number="+14155550002", objective="b", priority=5),
                                       schedule_at=NOW - timedelta(minutes=1))
    low_new = await tasks.create_task(db, user.id, TaskDraft(phone_number="+14155550003", objective="c", priority=0),
                                      schedule_at=NOW - timedelta(minutes=1))
    await tasks.create_task(db, user.id, TaskDraft(phone_number="+14155550004", objective="later"),
                            schedule_at=NOW + timedelta(minutes=1))
    async with db.acquire() as conn:
        claimed = await dispatch.claim_due_tasks(conn, node_id="n1", now=NOW, capacity=10, per_user_limit=10)
    assert [t.id for t in claimed] == [high_new.id, low_old.id, low_new.id]
    assert all(t.status == "dialing" and t.claimed_by == "n1" and t.attempt_count == 1 for t in claimed)
    event = await db.fetchrow("SELECT from_status, message, data FROM task_events WHERE task_id = $1 ORDER BY id DESC",
                              high_new.id)
    assert dict(event) == {"from_status": "scheduled", "message": "Dialing (attempt 1 of 5)",
                           "data": {"node": "n1", "attempt": 1}}


async def test_claim_respects_node_capacity_and_per_user_limit(db, new_user):
    busy_user, other_user = await new_user(), await new_user()
    await insert_due_tasks(db, busy_user.id, 6)
    await insert_due_tasks(db, other_user.id, 6)
    # busy_user already has two calls running on some node
    await db.execute("""UPDATE tasks SET status = 'in_call' WHERE id IN
                        (SELECT id FROM tasks WHERE user_id = $1 LIMIT 2)""", busy_user.id)
    async with db.acquire() as conn:
        first = await dispatch.claim_due_tasks(conn, node_id="n1", now=NOW, capacity=4, per_user_limit=3)
        second = await dispatch.claim_due_tasks(conn, node_id="n2", now=NOW, capacity=10, per_user_limit=3)
    assert len(first) == 4
    by_user = {}
    for t in first + second:
        by_user[t.user_id] = by_user.get(t.user_id, 0) + 1
    assert by_user == {busy_user.id: 1, other_user.id: 3}


async def test_the_trunk_limit_holds_across_nodes(db, new_user):
    user = await new_user()
    await insert_due_tasks(db, user.id, 10)
    # two calls already run through the trunk, on some node
    await db.execute("""UPDATE tasks SET status = 'in_call' WHERE id IN
                        (SELECT id FROM tasks WHERE user_id = $1 LIMIT 2)""", user.id)
    async with db.acquire() as conn:
        first = await dispatch.claim_due_tasks(conn, node_id="n1", now=NOW, capacity=4, per_user_limit=100,
                                               cluster_limit=5)
        second = await dispatch.claim_due_tasks(conn, node_id="n2", now=NOW, capacity=4, per_user_limit=100,
                                                cluster_limit=5)
        unlimited = await dispatch.claim_due_tasks(conn, node_id="n3", now=NOW, capacity=4, per_user_limit=100)
    assert (len(first), len(second), len(unlimited)) == (3, 0, 4)


async def test_nothing_due_claims_nothing(db, new_user):
    user = await new_user()
    await insert_due_tasks(db, user.id, 3, due=NOW + timedelta(seconds=1))
    async with db.acquire() as conn:
        assert await dispatch.claim_due_tasks(conn, node_id="n1", now=NOW, capacity=10, per_user_limit=10) == []
    assert await dispatch.next_due_at(db) == NOW + timedelta(seconds=1)
