"""One attempt end to end through the Telephony port and a scripted agent, against the real database."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from db import dispatch, dnd, events, hitl, tasks, transcripts
from db.tasks import TaskDraft
from engine.hitl import AnswerOutcome, answer_question, carried_answers
from engine.lifecycle.analysis import AnalysisInput, RuleAnalyzer, Verdict, VerdictKind
from engine.lifecycle.attempt import AttemptOptions, CallAttempt
from engine.lifecycle.dialer import Dialer, DialLimits
from engine.lifecycle.policy import DialPolicy
from engine.ports.agent import (
    CallbackRequest,
    CallMetrics,
    CallReport,
    ObjectiveResult,
    PendingQuestion,
    TranscriptTurn,
)
from engine.ports.telephony import CallOutcome
from engine.tasks.calling_window import calling_window
from tests.clock import ManualClock
from tests.lifecycle.fakes import FakeTelephony, ScriptedAgent

NOW = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York
NUMBER = "+12125550123"


async def claimed_task(db, user_id, *, max_attempts=5, constraints=None, number=NUMBER):
    await tasks.create_task(
        db, user_id, TaskDraft(phone_number=number, objective="Move my cleaning to Tuesday",
                               success_criteria="A new appointment on a Tuesday afternoon",
                               max_attempts=max_attempts, constraints=constraints or {}),
        schedule_at=NOW - timedelta(minutes=1),
    )
    async with db.acquire() as conn:
        [task] = await dispatch.claim_due_tasks(conn, node_id="n1", now=NOW, capacity=1, per_user_limit=5)
    return task


def attempt_with(db, telephony, agent, policy=None, analyzer=None):
    return CallAttempt(db, telephony, agent, policy or DialPolicy(), analyzer or RuleAnalyzer(), ManualClock(NOW),
                       AttemptOptions(node_id="n1"), rng=random.Random(0))


async def messages(db, user_id, task_id):
    return [e.message for e in await events.list_task_events(db, user_id, task_id)]


async def test_answered_call_that_reaches_the_goal_succeeds(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    turns = (TranscriptTurn("agent", "Hello, I'm calling for Sam", NOW), TranscriptTurn("callee", "Tuesday 3 pm works", NOW))
    agent = ScriptedAgent(lambda t: CallReport(
        transcript=turns, objective=ObjectiveResult(True, "Moved to Tue 15:00", ("slot: Tue 15:00",)),
        metrics=CallMetrics(time_to_first_audio_ms=420)))
    phone = FakeTelephony(hold_answers=True)
    running = asyncio.create_task(attempt_with(db, phone, agent).run(task))
    await phone.wait_for_originates(1)
    # The agent is prepared while the phone rings, before anyone answered.
    await asyncio.wait_for(agent.prepared_event.wait(), 5)
    assert not agent.ran
    phone.release()
    result = await asyncio.wait_for(running, 10)

    assert result.task.status == "succeeded"
    assert result.task.result == {"summary": "Moved to Tue 15:00", "facts": {"facts_learned": ["slot: Tue 15:00"]}}
    call = result.call
    assert str(call.id) == phone.originated[0].call_id
    assert (call.outcome, call.status, call.verdict, call.attempt) == ("answered", "ended", "succeeded", 1)
    assert call.metrics["time_to_first_audio_ms"] == 420
    assert phone.originated[0].destination == NUMBER
    assert [t.text for t in await transcripts.list_turns(db, user.id, call.id)] == [t.text for t in turns]
    assert phone.calls[str(call.id)].hangups
    assert await messages(db, user.id, task.id) == [
        "Task created for +12125550123", "Dialing (attempt 1 of 5)", "Call answered",
        "Succeeded: Moved to Tue 15:00",
    ]


async def test_busy_line_schedules_a_retry_soon(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    agent = ScriptedAgent()
    result = await attempt_with(db, FakeTelephony(lambda _: CallOutcome.BUSY), agent).run(task)
    assert result.task.status == "retry_scheduled"
    assert timedelta(minutes=4) <= result.task.next_attempt_at - NOW <= timedelta(minutes=6)
    assert result.task.claimed_by is None
    last = (await messages(db, user.id, task.id))[-1]
    local = result.task.next_attempt_at.astimezone(calling_window(task, user, default_start="09:00",
                                                                  default_end="20:00").zone)
    assert last == f"The line was busy (cause 17). Retry scheduled for Tue {local:%H:%M} (busy, attempt 2 of 5)"
    assert agent.ran == []  # the model session's release is checked on the model's side: tests/e2e/test_unanswered.py
    assert result.call.verdict == "retry" and result.call.outcome == "busy"


async def test_busy_on_the_last_attempt_fails_with_the_reason(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id, max_attempts=1)
    result = await attempt_with(db, FakeTelephony(lambda _: CallOutcome.BUSY), ScriptedAgent()).run(task)
    assert result.task.status == "failed"
    assert result.task.failure_reason == "Gave up after 1 of 1 attempts (last: busy): The line was busy (cause 17)"


async def test_callee_asking_not_to_be_called_blocks_the_number(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    result = await attempt_with(db, FakeTelephony(), ScriptedAgent(lambda t: CallReport(objective=ObjectiveResult(False, "", do_not_call=True)))).run(task)
    assert result.task.status == "blocked_dnd"
    entry = await dnd.blocking_entry(db, user.id, NUMBER)
    assert entry is not None and entry.user_id == user.id
    # The next task for that number is never dialled.
    phone = FakeTelephony()
    again = await claimed_task(db, user.id)
    refused = await attempt_with(db, phone, ScriptedAgent()).run(again)
    assert refused.task.status == "blocked_dnd" and refused.call is None
    assert phone.originated == []
    assert (await messages(db, user.id, again.id))[-1].startswith("Not dialled: +12125550123 is on your do-not-call")


async def test_outside_calling_hours_moves_the_task_to_the_next_opening(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id, constraints={"window": {"start": "14:00", "end": "17:00"}})
    phone = FakeTelephony()
    result = await attempt_with(db, phone, ScriptedAgent()).run(task)
    assert phone.originated == []
    assert result.task.status == "scheduled"
    assert result.task.next_attempt_at == datetime(2030, 1, 8, 19, 0, tzinfo=UTC)
    assert result.task.attempt_count == 0  # the refused claim does not use an attempt
    assert (await messages(db, user.id, task.id))[-1] == (
        "Outside calling hours in America/New_York (10:00); next attempt Tue 14:00")


async def test_unanswered_question_waits_for_the_user_then_resumes(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    agent = ScriptedAgent(lambda t: CallReport(pending_question=PendingQuestion("Which dentist office?")))
    result = await attempt_with(db, FakeTelephony(), agent).run(task)
    assert result.task.status == "pending_user_info"
    [request] = await hitl.list_requests(db, user.id, task_id=task.id)
    assert request.question == "Which dentist office?" and request.status == "open"
    # The owner answers from the web app: the call is over, so the answer is for the next call.
    answered = await answer_question(db, user.id, request.id, "The one on Main St", for_next_call=True, now=NOW)
    assert answered.outcome is AnswerOutcome.CALLBACK_SCHEDULED
    resumed = await tasks.get_task(db, user.id, task.id)
    assert resumed.status == "scheduled" and resumed.context["user_answers"][-1]["answer"] == "The one on Main St"
    assert resumed.next_attempt_at == NOW


class AsksTheOwnerInVain:
    """An agent that asks the owner during the call (as the HITL broker does) and hangs up without the answer."""

    def __init__(self, db, question: str) -> None:
        self.db = db
        self.question = question

    async def prepare(self, task, call, outbound=None):  # the AgentRunner port; the session is this object
        self.task, self.call = task, call
        return self

    async def run(self, outbound) -> CallReport:
        await hitl.create_request(self.db, self.task.user_id, self.task.id, question=self.question,
                                  deadline=NOW + timedelta(seconds=45), call_id=self.call.id)
        return CallReport(pending_question=PendingQuestion(self.question))

    async def aclose(self) -> None:
        pass


class AnswerArrivesDuringAnalysis:
    """The owner answers the call's question after the call ended, while the verdict is being decided."""

    def __init__(self, db, answer: str) -> None:
        self.db = db
        self.answer = answer

    async def analyze(self, given: AnalysisInput) -> Verdict:
        [request] = await hitl.list_requests(self.db, given.task.user_id, task_id=given.task.id)
        result = await answer_question(self.db, given.task.user_id, request.id, self.answer, for_next_call=True,
                                       now=NOW)
        assert result.outcome is AnswerOutcome.STORED_FOR_NEXT_CALL, result
        return await RuleAnalyzer().analyze(given)


async def test_an_answer_that_raced_the_end_of_the_call_schedules_the_call_back_without_asking_again(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    attempt = attempt_with(db, FakeTelephony(), AsksTheOwnerInVain(db, "Which dentist office?"),
                           analyzer=AnswerArrivesDuringAnalysis(db, "The one on Main St"))
    result = await attempt.run(task)
    assert result.verdict.kind is VerdictKind.PENDING_USER_INFO
    assert (result.task.status, result.task.next_attempt_at) == ("scheduled", NOW)
    [request] = await hitl.list_requests(db, user.id, task_id=task.id)  # no second question for the owner
    assert (request.status, request.answer) == ("answered", "The one on Main St")
    [carried] = carried_answers(result.task.context, "Sam")
    assert "The one on Main St" in carried and "calling back" in carried
    assert (await messages(db, user.id, task.id))[-2:] == [
        "Waiting for your answer: Which dentist office?",
        'The owner answered "Which dentist office?"; calling back with the answer',
    ]


async def test_callback_request_wins_over_backoff(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    asked = datetime(2030, 1, 9, 19, 30, tzinfo=UTC)  # Wed 14:30 New York
    agent = ScriptedAgent(lambda t: CallReport(callback=CallbackRequest(asked, "after lunch")))
    result = await attempt_with(db, FakeTelephony(), agent).run(task)
    assert result.task.status == "retry_scheduled" and result.task.next_attempt_at == asked


@pytest.mark.parametrize(
    ("outcome", "report", "reason"),
    [
        (CallOutcome.UNALLOCATED, CallReport(), "Wrong number: The number does not exist (cause 1)"),
        (CallOutcome.ANSWERED, CallReport(objective=ObjectiveResult(False, "", wrong_number=True)),
         "Wrong number: The callee said this is the wrong number"),
        (CallOutcome.ANSWERED, CallReport(objective=ObjectiveResult(False, "No Tuesday slots left")),
         "No Tuesday slots left"),
    ],
)
async def test_failures_end_the_task_with_their_reason(db, new_user, outcome, report, reason):
    user = await new_user()
    task = await claimed_task(db, user.id)
    result = await attempt_with(db, FakeTelephony(lambda _: outcome), ScriptedAgent(lambda t: report)).run(task)
    assert result.task.status == "failed" and result.task.failure_reason == reason


async def test_agent_crash_still_hangs_up_and_retries(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    phone = FakeTelephony()
    result = await attempt_with(db, phone, ScriptedAgent(lambda t: RuntimeError("model socket closed"))).run(task)
    assert phone.calls[phone.originated[0].call_id].hangups
    assert result.task.status == "retry_scheduled"
    assert "The agent failed during the call: RuntimeError: model socket closed" in (
        await messages(db, user.id, task.id))[-1]


async def test_phone_system_down_retries_without_using_an_attempt(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    result = await attempt_with(db, FakeTelephony(unavailable=True), ScriptedAgent()).run(task)
    assert result.task.status == "retry_scheduled" and result.task.attempt_count == 0
    assert result.call.outcome == "failed" and "events socket down" in result.call.detail


async def test_test_mode_redirects_and_dials_one_at_a_time(db, new_user):
    user = await new_user()
    for n in range(3):
        await tasks.create_task(db, user.id, TaskDraft(phone_number=f"+1212555010{n}", objective="x"),
                                schedule_at=NOW - timedelta(minutes=1))
    phone = FakeTelephony(hold_answers=True)
    policy = DialPolicy(test_mode=True, test_destination="+15005550006")
    dialer = Dialer(db, attempt_with(db, phone, ScriptedAgent(), policy),
                    DialLimits(max_concurrent_calls=20, per_user=5, test_mode=True), ManualClock(NOW))
    claimed = await dialer.claim_and_dial()
    again = await dialer.claim_and_dial()
    try:
        assert len(claimed) == 1 and again == []
        assert dialer.status()["mode"] == "test" and dialer.status()["active_calls"] == 1
        await phone.wait_for_originates(1)
        assert phone.originated[0].destination == "+15005550006"
    finally:
        await dialer.close()


def _sample(name: str, **labels: str) -> float:
    from engine import metrics

    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_attempt_is_counted_in_the_node_metrics(db, new_user):
    user = await new_user()
    task = await claimed_task(db, user.id)
    busy_before = _sample("opendeep_calls_total", outcome="busy")
    delays_before = _sample("opendeep_dispatch_delay_seconds_count")
    await attempt_with(db, FakeTelephony(lambda _: CallOutcome.BUSY), ScriptedAgent()).run(task)
    assert _sample("opendeep_calls_total", outcome="busy") == busy_before + 1
    assert _sample("opendeep_dispatch_delay_seconds_count") == delays_before + 1
    # claimed one minute after it was due (ManualClock): the delay observed is that minute
    assert _sample("opendeep_dispatch_delay_seconds_bucket", le="60.0") >= 1
    assert _sample("opendeep_active_calls") == 0  # back to zero once the call is over
