"""HITL in a live call: the agent runtime, the fake Realtime server over a real WebSocket
(through the openai SDK), the PostgreSQL broker and two engine nodes sharing one database."""

from __future__ import annotations

from db import hitl, tasks
from db.models import TaskStatus
from db.tasks import TaskMove
from engine.agent.runner import with_carried_answers
from engine.hitl import AnswerOutcome, PostgresUserInfoBroker, RefusalReason, answer_question, park_for_user_info
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import dentist_task
from tests.hitl.call_rig import hitl_call
from tests.hitl.helpers import engine_node, notification_tap, task_on_a_call

ANSWER = "Yes, Thursday at 3 works"


def ask(question: str, timeout_seconds: int = 60) -> Reply:
    return Reply(
        "Let me check that with Anna.",
        audio_ms=200,
        tool_calls=(SimToolCall("request_user_info", {"question": question, "timeout_seconds": timeout_seconds}),),
    )


def broker_on(node, user_id):
    return lambda clock: PostgresUserInfoBroker(node.pool, node.listener, user_id=user_id, clock=clock)


async def test_an_answer_given_on_another_node_reaches_the_call(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    task = dentist_task(task_id=str(live.task.id))
    replies = [ask("Is Thursday at 3 fine?"), Reply("One moment please.", audio_ms=200), Reply("Thursday at 3.")]
    async with (
        engine_node(database_url, "a") as node_a,
        engine_node(database_url, "b") as node_b,
        notification_tap(database_url) as tap,
        hitl_call(replies, task=task, call_id=str(live.call.id), make_broker=broker_on(node_a, user.id)) as call,
    ):
        request_id = await tap.question_asked(live.task.id)
        assert request_id in node_a.listener.watched and not node_b.listener.watched
        result = await answer_question(node_b.pool, user.id, request_id, ANSWER)  # the web app on node B
        assert result.outcome is AnswerOutcome.DELIVERED
        await call.sim.wait_for_event("response.create", count=3)
        assert any(f'answered your question "Is Thursday at 3 fine?": {ANSWER}' in note for note in call.notes())
        call.call.callee_hangs_up()
        report = await call.result()
    assert report.user_answers == (("Is Thursday at 3 fine?", ANSWER),)
    assert report.pending_question is None and not report.agent_failure
    assert {"hitl_asked", "hitl_answered"} <= set(call.recorder.kinds(str(live.call.id)))
    stored = await hitl.get_request(pool, user.id, request_id)
    assert (stored.status, stored.answer, stored.call_id) == ("answered", ANSWER, live.call.id)


async def test_several_questions_in_one_call(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    task = dentist_task(task_id=str(live.task.id))
    replies = [
        ask("Which day suits Anna?"),
        Reply("One moment.", audio_ms=100),
        ask("Is 3 pm fine on Thursday?"),  # the model asks again after the first answer
        Reply("One more moment.", audio_ms=100),
        Reply("Thursday at 3 then.", audio_ms=100),
    ]
    async with (
        engine_node(database_url, "a") as node,
        notification_tap(database_url) as tap,
        hitl_call(replies, task=task, call_id=str(live.call.id), make_broker=broker_on(node, user.id)) as call,
    ):
        first = await tap.question_asked(live.task.id)
        assert (await answer_question(pool, user.id, first, "Thursday")).outcome is AnswerOutcome.DELIVERED
        second = await tap.question_asked(live.task.id, nth=2)
        assert (await answer_question(pool, user.id, second, "Yes, 3 pm")).outcome is AnswerOutcome.DELIVERED
        await call.sim.wait_for(lambda: any("Yes, 3 pm" in note for note in call.notes()))
        call.call.callee_hangs_up()
        report = await call.result()
    assert report.user_answers == (
        ("Which day suits Anna?", "Thursday"),
        ("Is 3 pm fine on Thursday?", "Yes, 3 pm"),
    )
    asked = await hitl.list_requests(pool, user.id, task_id=live.task.id)
    assert sorted((r.question, r.status) for r in asked) == [
        ("Is 3 pm fine on Thursday?", "answered"),
        ("Which day suits Anna?", "answered"),
    ]


async def test_no_answer_in_time_ends_the_call_and_a_later_answer_calls_back(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    task = dentist_task(task_id=str(live.task.id))
    replies = [
        ask("Is Thursday at 3 fine?", timeout_seconds=45),
        Reply("One moment please.", audio_ms=100),
        Reply("I will call you back once I know. Goodbye.", audio_ms=200),
    ]
    async with (
        engine_node(database_url, "a") as node,
        notification_tap(database_url) as tap,
        hitl_call(replies, task=task, call_id=str(live.call.id), make_broker=broker_on(node, user.id)) as call,
    ):
        request_id = await tap.question_asked(live.task.id)
        await call.clock.wait_sleepers(2)  # the broker's deadline and the (quiet) reassurance loop
        call.clock.advance(45)  # nobody answers: no open browser, or the owner is away
        await tap.wait(kind="hitl", request_id=str(request_id), status="expired")
        await call.sim.wait_for_event("response.create", count=3)
        assert any("call back" in note and "end_call" in note for note in call.notes())
        await call.clock.wait_sleepers(2)  # the model did not hang up: the runtime will, after a grace
        call.clock.advance(30)
        await call.call.wait_hung_up()
        report = await call.result()
    assert report.pending_question is not None and report.pending_question.question == "Is Thursday at 3 fine?"
    assert report.hangup_by == "agent" and not report.agent_failure
    assert (await hitl.get_request(pool, user.id, request_id)).status == "expired"

    # The analyzer parks the task; the owner answers from the task page.
    parked = await park_for_user_info(
        pool, user.id, live.task.id, TaskMove(to=TaskStatus.PENDING_USER_INFO, why="Needs Anna", call_id=live.call.id),
        question="Is Thursday at 3 fine?",
    )
    assert parked.status == "pending_user_info"
    late = await answer_question(pool, user.id, request_id, ANSWER)
    assert late.reason is RefusalReason.EXPIRED and late.can_answer_for_next_call
    result = await answer_question(pool, user.id, request_id, ANSWER, for_next_call=True)
    assert result.outcome is AnswerOutcome.CALLBACK_SCHEDULED
    scheduled = await tasks.get_task(pool, user.id, live.task.id)
    assert scheduled.status == "scheduled" and scheduled.next_attempt_at is not None

    # The next attempt carries the answer into the model's instructions.
    second_call = await task_on_a_call(pool, user.id)  # a stand-in row for the new attempt's call
    next_task = with_carried_answers(task, scheduled.context)
    async with (
        engine_node(database_url, "a2") as node,
        hitl_call([Reply("Hello!")], task=next_task, call_id=str(second_call.call.id),
                  make_broker=broker_on(node, user.id)) as call,
    ):
        instructions = call.instructions()
        call.call.callee_hangs_up()
        await call.result()
    earlier = instructions.split("# From earlier attempts\n", 1)[1]
    assert ANSWER in earlier and "calling back" in earlier


async def test_a_question_open_when_the_callee_hangs_up_expires(pool, database_url, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    task = dentist_task(task_id=str(live.task.id))
    async with (
        engine_node(database_url, "a") as node,
        notification_tap(database_url) as tap,
        hitl_call([ask("Which day?")], task=task, call_id=str(live.call.id),
                  make_broker=broker_on(node, user.id)) as call,
    ):
        request_id = await tap.question_asked(live.task.id)
        call.call.callee_hangs_up()
        report = await call.result()
        await tap.wait(kind="hitl", request_id=str(request_id), status="expired")
    assert report.pending_question is not None
    assert (await answer_question(pool, user.id, request_id, "Thursday")).reason is RefusalReason.EXPIRED
