"""`answer_question`: live delivery, refusals, answers for the next call, and the analyzer's park."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import calls, hitl, tasks
from db.models import TaskStatus
from db.tasks import TaskMove
from engine.hitl import AnswerOutcome, RefusalReason, answer_question, park_for_user_info
from tests.hitl.helpers import task_on_a_call

NOW = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)


async def _asked(pool, live, question: str = "Is Thursday at 3 fine?"):
    return await hitl.create_request(
        pool, live.user_id, live.task.id, question=question, deadline=NOW + timedelta(seconds=45), call_id=live.call.id
    )


def waiting(live, why: str) -> TaskMove:
    """The analyzer's move for a call that left a question open."""
    return TaskMove(to=TaskStatus.PENDING_USER_INFO, why=why, call_id=live.call.id)


async def _end_call(pool, live):
    await calls.finish_call(pool, live.user_id, live.call.id, outcome="answered", ended_at=NOW)


async def test_a_foreign_question_is_refused_like_a_missing_one(pool, make_user):
    owner, stranger = await make_user(), await make_user()
    live = await task_on_a_call(pool, owner.id)
    request = await _asked(pool, live)
    result = await answer_question(pool, stranger.id, request.id, "Yes")
    assert (result.outcome, result.reason) == (AnswerOutcome.REFUSED, RefusalReason.NOT_FOUND)
    assert result.message == "There is no such question for you."
    assert (await hitl.get_request(pool, owner.id, request.id)).status == "open"


async def test_an_expired_question_is_refused_but_can_be_answered_for_the_next_call(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    await hitl.close_request(pool, user.id, request.id, status="expired")
    result = await answer_question(pool, user.id, request.id, "Yes")
    assert (result.outcome, result.reason) == (AnswerOutcome.REFUSED, RefusalReason.EXPIRED)
    assert result.can_answer_for_next_call and "answer it for the next call" in result.message
    assert (await hitl.get_request(pool, user.id, request.id)).status == "expired"
    assert "user_answers" not in (await tasks.get_task(pool, user.id, live.task.id)).context


@pytest.mark.parametrize(
    ("close", "reason", "message"),
    [
        ("answered", RefusalReason.ALREADY_ANSWERED, "This question was already answered."),
        ("cancelled", RefusalReason.CANCELLED, "This question was withdrawn."),
    ],
)
async def test_a_closed_question_is_refused(pool, make_user, close, reason, message):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    if close == "answered":
        await hitl.answer_request(pool, user.id, request.id, "First answer")
    else:
        await hitl.close_request(pool, user.id, request.id, status="cancelled")
    for for_next_call in (False, True):
        result = await answer_question(pool, user.id, request.id, "Second", for_next_call=for_next_call)
        assert (result.outcome, result.reason, result.message) == (AnswerOutcome.REFUSED, reason, message)


async def test_an_empty_answer_is_refused(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    result = await answer_question(pool, user.id, request.id, "   ")
    assert (result.outcome, result.reason) == (AnswerOutcome.REFUSED, RefusalReason.INVALID)
    assert (await hitl.get_request(pool, user.id, request.id)).status == "open"


async def test_a_live_answer_is_also_carried_to_later_attempts(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    result = await answer_question(pool, user.id, request.id, "Yes, Thursday at 3", now=NOW)
    assert result.outcome is AnswerOutcome.DELIVERED and result.task_status is TaskStatus.IN_CALL
    [entry] = (await tasks.get_task(pool, user.id, live.task.id)).context["user_answers"]
    assert entry == {
        "request_id": str(request.id),
        "call_id": str(live.call.id),
        "question": "Is Thursday at 3 fine?",
        "answer": "Yes, Thursday at 3",
        "at": NOW.isoformat(),
        "after_call": False,
    }


async def test_an_answer_after_the_call_schedules_a_call_back_at_the_next_opening(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    await _end_call(pool, live)
    await park_for_user_info(pool, user.id, live.task.id, waiting(live, "Waiting for the owner"),
                             question=request.question)
    opening = NOW + timedelta(hours=14)
    seen = []

    def next_opening(task, now):
        seen.append((task.id, now))
        return opening

    refused = await answer_question(pool, user.id, request.id, "Yes", now=NOW)  # open, but its call ended
    assert refused.reason is RefusalReason.EXPIRED and refused.can_answer_for_next_call
    result = await answer_question(
        pool, user.id, request.id, "Yes, Thursday at 3 works", for_next_call=True, now=NOW, next_opening=next_opening
    )
    assert result.outcome is AnswerOutcome.CALLBACK_SCHEDULED
    assert (result.task_status, result.next_attempt_at) == (TaskStatus.SCHEDULED, opening)
    assert seen == [(live.task.id, NOW)]
    task = await tasks.get_task(pool, user.id, live.task.id)
    assert (task.status, task.next_attempt_at) == ("scheduled", opening)
    assert task.context["user_answers"][-1]["after_call"] is True
    assert (await hitl.get_request(pool, user.id, request.id)).status == "answered"
    events = await pool.fetch(
        "SELECT kind, from_status, to_status, actor FROM task_events WHERE task_id = $1 ORDER BY id", live.task.id
    )
    assert tuple(events[-1]) == ("hitl_answered", "pending_user_info", "scheduled", "user")


async def test_an_answer_while_the_call_is_analysed_rides_with_the_next_attempt(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    await hitl.close_request(pool, user.id, request.id, status="expired")
    result = await answer_question(pool, user.id, request.id, "Thursday", for_next_call=True, now=NOW)
    assert result.outcome is AnswerOutcome.STORED_FOR_NEXT_CALL and result.task_status is TaskStatus.IN_CALL
    # The analyzer then parks the task: the answer is already there, so it is scheduled at once.
    parked = await park_for_user_info(
        pool, user.id, live.task.id, waiting(live, "Waiting for the owner"), question=request.question, now=NOW,
    )
    assert (parked.status, parked.next_attempt_at) == ("scheduled", NOW)


async def test_park_waits_when_the_question_is_still_unanswered(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    await hitl.close_request(pool, user.id, request.id, status="expired")
    parked = await park_for_user_info(pool, user.id, live.task.id, waiting(live, "Waiting"),
                                      question=request.question)
    assert parked.status == TaskStatus.PENDING_USER_INFO


async def test_no_call_back_for_a_finished_task(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    request = await _asked(pool, live)
    await hitl.close_request(pool, user.id, request.id, status="expired")
    await pool.execute("UPDATE tasks SET status = 'failed' WHERE id = $1", live.task.id)
    result = await answer_question(pool, user.id, request.id, "Thursday", for_next_call=True)
    assert (result.outcome, result.reason) == (AnswerOutcome.REFUSED, RefusalReason.TASK_FINISHED)
    assert (await hitl.get_request(pool, user.id, request.id)).status == "expired"


async def test_answers_accumulate_in_the_carried_context(pool, make_user):
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    first, second = await _asked(pool, live, "Which day?"), await _asked(pool, live, "Which time?")
    await answer_question(pool, user.id, first.id, "Thursday")
    await answer_question(pool, user.id, second.id, "At 3")
    answers = (await tasks.get_task(pool, user.id, live.task.id)).context["user_answers"]
    assert [(a["question"], a["answer"]) for a in answers] == [("Which day?", "Thursday"), ("Which time?", "At 3")]


async def _task_on_a_test_call(pool, user_id: int, *, status: TaskStatus = TaskStatus.PENDING_USER_INFO):
    """A task waiting for the owner (its last real call asked something) while the owner tries it ("Try it")."""
    live = await task_on_a_call(pool, user_id, status=status)
    test_call = await calls.create_call(pool, user_id, live.task.id, attempt=1, node_id="node-a",
                                        destination="browser", is_test=True)
    request = await hitl.create_request(pool, user_id, live.task.id, question="Which afternoon suits Ada?",
                                        deadline=NOW + timedelta(seconds=300), call_id=test_call.id)
    return live, test_call, request


async def _task_as_stored(pool, user_id: int, task_id):
    row = await pool.fetchrow("SELECT status, context, updated_at, next_attempt_at FROM tasks WHERE id = $1", task_id)
    task_events = await pool.fetchval("SELECT count(*) FROM task_events WHERE task_id = $1", task_id)
    return dict(row), task_events


async def test_an_answer_to_a_test_calls_question_reaches_the_test_call_and_leaves_the_task_alone(pool, make_user):
    user = await make_user()
    live, test_call, request = await _task_on_a_test_call(pool, user.id)
    before = await _task_as_stored(pool, user.id, live.task.id)
    result = await answer_question(pool, user.id, request.id, "Tuesday after two", now=NOW)
    answered = await hitl.get_request(pool, user.id, request.id)
    assert (answered.status, answered.answer, answered.call_id) == ("answered", "Tuesday after two", test_call.id)
    assert await _task_as_stored(pool, user.id, live.task.id) == before  # no answer carried, no event, not touched
    assert result.outcome is AnswerOutcome.DELIVERED and result.message == "Your answer was sent to the test call."


async def test_a_question_of_a_test_call_that_is_over_is_not_kept_for_the_tasks_next_call(pool, make_user):
    user = await make_user()
    live, test_call, request = await _task_on_a_test_call(pool, user.id)
    await calls.finish_call(pool, user.id, test_call.id, outcome="answered", ended_at=NOW)
    before = await _task_as_stored(pool, user.id, live.task.id)
    for for_next_call in (False, True):
        result = await answer_question(pool, user.id, request.id, "Tuesday", for_next_call=for_next_call, now=NOW)
        assert (result.outcome, result.reason) == (AnswerOutcome.REFUSED, RefusalReason.EXPIRED), result
        assert "test call that is over" in result.message and not result.can_answer_for_next_call
    assert (await hitl.get_request(pool, user.id, request.id)).status == "open"
    assert await _task_as_stored(pool, user.id, live.task.id) == before  # still waiting for its real call's answer


async def test_a_test_calls_open_question_does_not_stand_in_for_the_one_a_real_call_leaves(pool, make_user):
    """The owner tries the task while a real attempt is on: when that attempt ends needing the owner, the task
    waits with a question of its own, not with the test call's (whose answer only the test call hears)."""
    user = await make_user()
    live = await task_on_a_call(pool, user.id)
    test_call = await calls.create_call(pool, user.id, live.task.id, attempt=1, node_id="node-a",
                                        destination="browser", is_test=True)
    tried = await hitl.create_request(pool, user.id, live.task.id, question="Which afternoon suits Ada?",
                                      deadline=NOW + timedelta(seconds=300), call_id=test_call.id)
    await _end_call(pool, live)
    parked = await park_for_user_info(pool, user.id, live.task.id, waiting(live, "Waiting for the owner"),
                                      question="Which day suits Ada?", now=NOW)
    assert parked.status == TaskStatus.PENDING_USER_INFO
    asked = await pool.fetch("SELECT id, call_id, question, status FROM hitl_requests WHERE task_id = $1", live.task.id)
    assert sorted((r["call_id"], r["question"], r["status"]) for r in asked) == sorted([
        (test_call.id, "Which afternoon suits Ada?", "open"), (live.call.id, "Which day suits Ada?", "open")])
    assert (await hitl.get_request(pool, user.id, tried.id)).status == "open"  # still the test call's to hear
    task_questions = await hitl.list_requests(pool, user.id, task_id=live.task.id)
    assert [(q.call_id, q.question) for q in task_questions] == [(live.call.id, "Which day suits Ada?")]
