"""The PostgreSQL broker and the node's listener, without a call: real database, real LISTEN."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from db import hitl
from db.pool import connect, create_pool
from engine.hitl import AnswerOutcome, HitlListener, PostgresUserInfoBroker, QuestionPolicy, answer_question
from engine.ports.owner_questions import UserQuestion
from tests.clock import ManualClock
from tests.hitl.helpers import engine_node, notification_tap, task_on_a_call


def _question(live, text: str = "Is Tuesday 15:00 fine?") -> UserQuestion:
    return UserQuestion(str(live.task.id), str(live.call.id), text)


async def test_answer_in_time_is_returned_and_stored(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    async with engine_node(database_url, "a") as node, notification_tap(database_url) as tap:
        broker = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=ManualClock())
        asking = asyncio.create_task(broker.ask(_question(live), 45), name="ask")
        request_id = await tap.question_asked(live.task.id)
        stored = await hitl.get_request(pool, user.id, request_id)
        assert (stored.question, stored.call_id, stored.status) == ("Is Tuesday 15:00 fine?", live.call.id, "open")
        result = await answer_question(pool, user.id, request_id, "  Yes, Tuesday 15:00 is fine. ")
        assert result.outcome is AnswerOutcome.DELIVERED
        assert await asyncio.wait_for(asking, 5) == "Yes, Tuesday 15:00 is fine."
    assert (await hitl.get_request(pool, user.id, request_id)).status == "answered"


async def test_no_answer_in_time_expires_the_request(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    clock = ManualClock()
    async with engine_node(database_url, "a") as node, notification_tap(database_url) as tap:
        broker = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=clock)
        asking = asyncio.create_task(broker.ask(_question(live), 45), name="ask")
        request_id = await tap.question_asked(live.task.id)
        await clock.wait_sleepers(1)
        clock.advance(44.9)
        assert not asking.done()
        clock.advance(0.2)
        assert await asyncio.wait_for(asking, 5) is None
        await tap.wait(kind="hitl", request_id=str(request_id), status="expired")
    request = await hitl.get_request(pool, user.id, request_id)
    assert request.status == "expired"
    assert request.deadline == clock._start + timedelta(seconds=45)


@pytest.mark.parametrize(("asked", "used"), [(2, 15), (None, 45), (60, 60), (10_000, 180)])
async def test_the_timeout_is_clamped_to_the_bounds(pool, database_url, make_user, asked, used):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    clock = ManualClock()
    policy = QuestionPolicy(default_timeout_s=45, min_timeout_s=15, max_timeout_s=180)
    async with engine_node(database_url, "a") as node, notification_tap(database_url) as tap:
        broker = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=clock, policy=policy)
        asking = asyncio.create_task(broker.ask(_question(live), asked), name="ask")  # type: ignore[arg-type]
        request_id = await tap.question_asked(live.task.id)
        await clock.wait_sleepers(1)
        clock.advance(used)
        assert await asyncio.wait_for(asking, 5) is None
    request = await hitl.get_request(pool, user.id, request_id)
    assert request.deadline - clock._start == timedelta(seconds=used)


async def test_an_answer_at_the_deadline_wins_or_loses_as_a_whole(pool, database_url, make_user):
    """The answer is committed, then the deadline passes before the broker hears of it:
    the broker's expiry finds the request answered and returns the answer."""
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    clock = ManualClock()
    async with engine_node(database_url, "a") as node, notification_tap(database_url) as tap:
        broker = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=clock)
        asking = asyncio.create_task(broker.ask(_question(live), 45), name="ask")
        request_id = await tap.question_asked(live.task.id)
        await clock.wait_sleepers(1)
        await hitl.answer_request(pool, user.id, request_id, "Yes")
        clock.advance(45)  # in the same step: the broker sees the deadline and the answer together
        assert await asyncio.wait_for(asking, 5) == "Yes"
    assert (await hitl.get_request(pool, user.id, request_id)).status == "answered"


async def test_answer_and_expiry_racing_have_exactly_one_winner(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    outcomes = set()
    for _ in range(15):
        request = await hitl.create_request(
            pool, user.id, live.task.id, question="Which day?", deadline=live.call.originated_at, call_id=live.call.id
        )
        answered, expired = await asyncio.gather(
            answer_question(pool, user.id, request.id, "Tuesday"),
            hitl.close_request(pool, user.id, request.id, status="expired"),
        )
        stored = await hitl.get_request(pool, user.id, request.id)
        assert (answered.outcome is AnswerOutcome.DELIVERED) != expired
        assert stored.status == ("expired" if expired else "answered")
        outcomes.add(stored.status)
    assert outcomes <= {"answered", "expired"}


async def test_an_ended_call_expires_its_open_question(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    async with engine_node(database_url, "a") as node, notification_tap(database_url) as tap:
        broker = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=ManualClock())
        asking = asyncio.create_task(broker.ask(_question(live), 45), name="ask")
        request_id = await tap.question_asked(live.task.id)
        asking.cancel()  # what the call session does when the callee hangs up
        with pytest.raises(asyncio.CancelledError):
            await asking
    assert (await hitl.get_request(pool, user.id, request_id)).status == "expired"


async def test_a_question_that_cannot_be_stored_takes_the_timeout_path(pool, database_url, make_user):
    user, stranger = await make_user(), await make_user()
    live = await task_on_a_call(pool, user.id)
    async with engine_node(database_url, "a") as node:
        foreign = PostgresUserInfoBroker(node.pool, node.listener, user_id=stranger.id, clock=ManualClock())
        assert await asyncio.wait_for(foreign.ask(_question(live), 45), 5) is None
        empty = PostgresUserInfoBroker(node.pool, node.listener, user_id=user.id, clock=ManualClock())
        assert await asyncio.wait_for(empty.ask(_question(live, "   "), 45), 5) is None
    assert await hitl.list_requests(pool, user.id, task_id=live.task.id) == []


async def test_an_answer_given_while_the_listener_is_deaf_is_not_lost(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    gate = asyncio.Event()
    gate.set()
    opened = []

    async def gated_connect():
        await gate.wait()
        opened.append(await connect(database_url))
        return opened[-1]

    listener = HitlListener(gated_connect, retry_delay_s=0.01, name="hitl-listener-deaf")
    await listener.start()
    try:
        async with notification_tap(database_url) as tap:
            broker = PostgresUserInfoBroker(pool, listener, user_id=user.id, clock=ManualClock())
            asking = asyncio.create_task(broker.ask(_question(live), 45), name="ask")
            request_id = await tap.question_asked(live.task.id)
            gate.clear()  # the reconnect will wait until we let it
            await pool.execute("SELECT pg_terminate_backend($1)", opened[0].get_server_pid())
            async with asyncio.timeout(5):
                while listener.connected:
                    await asyncio.sleep(0)  # until asyncpg reports the connection lost (no timer involved)
            result = await answer_question(pool, user.id, request_id, "Tuesday works")
            assert result.outcome is AnswerOutcome.DELIVERED
            await tap.wait(kind="hitl", request_id=str(request_id), status="answered")
            assert not asking.done()  # nobody told the broker yet
            gate.set()
            assert await asyncio.wait_for(asking, 5) == "Tuesday works"
            assert listener.connections == 2
    finally:
        await listener.close()


async def test_listener_close_cancels_its_task(database_url):
    listener = HitlListener.for_url(database_url, name="hitl-listener-close")
    await listener.start()
    assert listener.connected
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "hitl-listener-close"]
    assert len(tasks) == 1
    await listener.close()
    assert tasks[0].done() and not listener.connected


async def test_the_node_component_starts_listens_and_closes(pool, database_url, make_user):
    from db.database import Database
    from engine.app.node import Node
    from engine.hitl import HitlService
    from engine.settings import load_settings

    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    settings = load_settings(hitl_timeout_s=30, hitl_timeout_min_s=20, hitl_timeout_max_s=60)
    node_pool = await create_pool(database_url, size=2)
    hitl_service = HitlService.from_settings(settings, node_pool, database_url)
    database = Database(database_url, node_pool, embedded=False)
    node = Node(settings=settings, database=database, components=[hitl_service])
    await node.start()
    try:
        assert hitl_service.listener.connected
        clock = ManualClock()
        async with notification_tap(database_url) as tap:
            asking = asyncio.create_task(hitl_service.broker(user.id, clock=clock).ask(_question(live), 5), name="ask")
            request_id = await tap.question_asked(live.task.id)
            assert (await hitl.get_request(pool, user.id, request_id)).deadline == clock.now() + timedelta(seconds=20)
            await answer_question(pool, user.id, request_id, "Tuesday")
            assert await asyncio.wait_for(asking, 5) == "Tuesday"
    finally:
        await node.stop()
    assert not hitl_service.listener.connected
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "hitl-listener"]
