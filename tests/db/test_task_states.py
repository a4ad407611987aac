"""The task state machine over the real database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from db import tasks
from db.errors import InvalidInput, TransitionRefused
from db.models import TaskStatus as S
from db.pool import connect
from db.tasks import TaskDraft, TaskMove
from engine.tasks.states import LEGAL, TERMINAL, IllegalTransition, checked, move_task, sources_of

ALL_PAIRS = [(a, b) for a in S for b in S]
LEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if b in LEGAL[a]]
ILLEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if b not in LEGAL[a]]


async def _task_in(pool, user_id, status: S):
    task = await tasks.create_task(pool, user_id, TaskDraft(phone_number="+14155550123", objective="Call"))
    if status is not S.DRAFT:
        # Put it there directly: this test is about the transition out of `status`.
        await pool.execute("UPDATE tasks SET status = $2 WHERE id = $1", task.id, status.value)
    return task


def test_terminal_states_have_no_way_out():
    assert all(not LEGAL[state] for state in TERMINAL)
    assert set(LEGAL) == set(S)


class Untouchable:
    """A connection that fails the test if anything is sent through it."""

    def __getattr__(self, name):
        raise AssertionError(f"the database was touched ({name})")


@pytest.mark.parametrize(("source", "target"), ILLEGAL_PAIRS[:5], ids=[f"{a}->{b}" for a, b in ILLEGAL_PAIRS[:5]])
async def test_an_illegal_move_is_refused_before_the_database_is_touched(source, target):
    with pytest.raises(IllegalTransition, match=f"from {source} to {target}"):
        await move_task(Untouchable(), 1, uuid4(), TaskMove(expected=source, to=target, why="nope"))


async def test_a_move_without_its_sources_never_reaches_the_database_unchecked():
    with pytest.raises(ValueError, match="must name the states it may leave"):
        await tasks.transition_task(Untouchable(), 1, uuid4(), TaskMove(to=S.CANCELLED, why="Cancelled"))


def test_the_state_machine_fills_in_where_a_move_may_come_from():
    assert checked(TaskMove(to=S.CANCELLED, why="Cancelled")).expected == sources_of(S.CANCELLED)
    given = TaskMove(to=S.DIALING, expected=S.SCHEDULED, why="Dialing")
    assert checked(given) is given and given.expected == frozenset({S.SCHEDULED})


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"to": "on_hold"}, InvalidInput, "'on_hold' is not a task status"),
        ({"expected": "paused"}, InvalidInput, "'paused' is not a task status"),
        ({"why": ""}, InvalidInput, "message"),
        ({"why": "x" * 2001}, InvalidInput, "message"),
        ({"changes": {"phone_number": "+1"}}, ValueError, "a transition cannot set phone_number"),
    ],
)
def test_a_malformed_move_cannot_be_made(fields, error, match):
    with pytest.raises(error, match=match):
        TaskMove(**{"to": S.SCHEDULED, "why": "Scheduled", **fields})


@pytest.mark.parametrize(("source", "target"), LEGAL_PAIRS, ids=[f"{a}->{b}" for a, b in LEGAL_PAIRS])
async def test_legal_transition_moves_and_writes_its_event(pool, make_user, source, target):
    user = await make_user()
    task = await _task_in(pool, user.id, source)
    moved = await move_task(pool, user.id, task.id, TaskMove(expected=source, to=target, why=f"{source} to {target}"))
    assert moved.status == target
    event = await pool.fetchrow(
        "SELECT from_status, to_status, message FROM task_events WHERE task_id = $1 AND kind = 'status'", task.id
    )
    assert dict(event) == {"from_status": source.value, "to_status": target.value, "message": f"{source} to {target}"}


@pytest.mark.parametrize(("source", "target"), ILLEGAL_PAIRS, ids=[f"{a}->{b}" for a, b in ILLEGAL_PAIRS])
async def test_illegal_transition_is_refused(pool, make_user, source, target):
    user = await make_user()
    task = await _task_in(pool, user.id, source)
    with pytest.raises(IllegalTransition):
        await move_task(pool, user.id, task.id, TaskMove(expected=source, to=target, why="nope"))
    assert (await tasks.get_task(pool, user.id, task.id)).status == source


async def test_transition_from_a_state_the_task_is_not_in_is_refused(pool, make_user):
    user = await make_user()
    task = await _task_in(pool, user.id, S.DRAFT)
    with pytest.raises(TransitionRefused, match="is draft; it cannot become dialing"):
        await move_task(pool, user.id, task.id, TaskMove(expected=S.SCHEDULED, to=S.DIALING, why="Dialing"))
    assert await pool.fetchval("SELECT count(*) FROM task_events WHERE task_id = $1", task.id) == 1


async def test_transition_sets_columns_and_notifies(pool, database_url, make_user):
    user = await make_user()
    task = await _task_in(pool, user.id, S.SCHEDULED)
    listener = await connect(database_url)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("opendeep_events", lambda *args: received.put_nowait(args[3]))
    try:
        when = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
        moved = await move_task(pool, user.id, task.id, TaskMove(
            expected=S.SCHEDULED, to=S.DIALING, why="Dialing",
            changes={"claimed_by": "node-a", "attempt_count": 1, "next_attempt_at": when, "context": {"k": "v"}},
        ))
        assert (moved.claimed_by, moved.attempt_count, moved.next_attempt_at, moved.context) == ("node-a", 1, when, {"k": "v"})
        payload = json.loads(await asyncio.wait_for(received.get(), 5))
        assert payload == {"kind": "task", "user_id": user.id, "task_id": str(task.id), "status": "dialing"}
    finally:
        await listener.close()


async def test_two_concurrent_transitions_from_one_state_exactly_one_wins(pool, make_user):
    user = await make_user()
    for _ in range(20):
        task = await _task_in(pool, user.id, S.SCHEDULED)
        results = await asyncio.gather(
            move_task(pool, user.id, task.id, TaskMove(expected=S.SCHEDULED, to=S.DIALING, why="node a")),
            move_task(pool, user.id, task.id, TaskMove(expected=S.SCHEDULED, to=S.CANCELLED, why="user cancels")),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, TransitionRefused)]
        assert len(winners) == 1 and len(losers) == 1, results
        final = await tasks.get_task(pool, user.id, task.id)
        assert final.status == winners[0].status
        status_events = await pool.fetchval(
            "SELECT count(*) FROM task_events WHERE task_id = $1 AND kind = 'status'", task.id
        )
        assert status_events == 1


async def test_creating_a_scheduled_task_notifies_the_dialers(pool, database_url, make_user):
    user = await make_user()
    listener = await connect(database_url)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("opendeep_events", lambda *args: received.put_nowait(args[3]))
    try:
        task = await tasks.create_task(
            pool, user.id, TaskDraft(phone_number="+14155550123", objective="Call"), schedule_at=datetime.now(UTC)
        )
        payload = json.loads(await asyncio.wait_for(received.get(), 5))
        assert payload == {"kind": "task", "user_id": user.id, "task_id": str(task.id), "status": "scheduled"}
    finally:
        await listener.close()
