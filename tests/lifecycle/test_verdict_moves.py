"""What each verdict and each refusal means for the task: the pure dispatch tables, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from db.models import TaskStatus as S
from engine.lifecycle.analysis import Verdict, VerdictKind
from engine.lifecycle.policy import Allow, Block, Defer, GiveUp
from engine.lifecycle.verdicts import REFUSAL_MOVES, VERDICT_MOVES, RetryTerms, refusal_move, verdict_move
from engine.tasks.calling_window import calling_window
from engine.tasks.states import checked
from tests.lifecycle import builders

NOW = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York
CALL = uuid4()

TARGETS = {
    VerdictKind.SUCCEEDED: S.SUCCEEDED,
    VerdictKind.FAILED: S.FAILED,
    VerdictKind.WRONG_NUMBER: S.FAILED,
    VerdictKind.DO_NOT_CALL: S.BLOCKED_DND,
    VerdictKind.PENDING_USER_INFO: S.PENDING_USER_INFO,
    VerdictKind.RETRY: S.RETRY_SCHEDULED,
}


def terms(task) -> RetryTerms:
    window = calling_window(task, builders.user(), default_start="09:00", default_end="20:00")
    return RetryTerms(window, NOW, random.Random(0))


def move_for(kind: VerdictKind, task=None, current: S = S.IN_CALL, **fields):
    task = task or builders.task()
    verdict = Verdict(kind, "Because", **fields)
    return verdict_move(task, verdict, current=current, call_id=CALL, terms=terms(task))


def test_every_verdict_kind_has_exactly_one_move():
    assert set(VERDICT_MOVES) == set(VerdictKind) == set(TARGETS)


@pytest.mark.parametrize("kind", list(VerdictKind))
def test_each_verdict_moves_the_task_from_its_call_to_its_state(kind):
    move = move_for(kind)
    assert move.to is TARGETS[kind]
    assert (move.expected, move.call_id, move.actor, move.kind) == (frozenset({S.IN_CALL}), CALL, "analysis", "verdict")
    assert move.data["verdict"] == kind.value and move.data["decided_by"] == "rules"
    assert checked(move) is move  # the state machine allows it


@pytest.mark.parametrize("kind", [VerdictKind.RETRY, VerdictKind.FAILED, VerdictKind.WRONG_NUMBER])
def test_an_unanswered_call_moves_the_task_out_of_dialing(kind):
    assert checked(move_for(kind, current=S.DIALING)).expected == frozenset({S.DIALING})


def test_a_retry_with_attempts_left_is_planned_inside_the_calling_window():
    move = move_for(VerdictKind.RETRY, retry_reason="busy")
    at = move.changes["next_attempt_at"]
    assert timedelta(minutes=4) <= at - NOW <= timedelta(minutes=6)
    assert move.changes["claimed_by"] is None and move.data["next_attempt_at"] == at.isoformat()
    assert move.why.startswith("Because. Retry scheduled for Tue ")


def test_a_retry_on_the_last_attempt_fails_the_task():
    move = move_for(VerdictKind.RETRY, task=builders.task(max_attempts=1), retry_reason="busy")
    assert move.to is S.FAILED
    assert move.why == move.changes["failure_reason"] == "Gave up after 1 of 1 attempts (last: busy): Because"


def test_success_keeps_the_summary_and_facts():
    move = move_for(VerdictKind.SUCCEEDED, summary="Moved to Tue", facts={"slot": "Tue 15:00"})
    assert move.why == "Succeeded: Because"
    assert move.changes == {"result": {"summary": "Moved to Tue", "facts": {"slot": "Tue 15:00"}}}


def test_a_wrong_number_fails_with_its_reason():
    move = move_for(VerdictKind.WRONG_NUMBER)
    assert (move.why, move.changes["failure_reason"]) == ("Failed: Wrong number: Because", "Wrong number: Because")


def test_do_not_call_names_the_number():
    move = move_for(VerdictKind.DO_NOT_CALL)
    assert move.why == "+12125550123 added to your do-not-call list: Because"


REFUSALS = [
    (Defer(NOW + timedelta(hours=4), "Outside calling hours"), S.SCHEDULED),
    (Block("+12125550123 is on your do-not-call list"), S.BLOCKED_DND),
    (GiveUp("All 5 attempts used"), S.FAILED),
]


def test_every_refusal_has_exactly_one_move():
    assert set(REFUSAL_MOVES) == {type(decision) for decision, _ in REFUSALS}


@pytest.mark.parametrize(("decision", "target"), REFUSALS, ids=[type(d).__name__ for d, _ in REFUSALS])
def test_a_refusal_undoes_the_claim(decision, target):
    task = builders.task()  # claimed: dialing, attempt 1 counted
    move = refusal_move(task, decision)
    assert (move.to, move.expected, move.kind, move.actor) == (target, frozenset({S.DIALING}), "policy", "policy")
    assert move.changes["attempt_count"] == 0  # the claim's attempt never happened
    assert checked(move) is move


def test_allow_is_not_a_refusal():
    with pytest.raises(TypeError, match="not a refusal"):
        refusal_move(builders.task(), Allow("+12125550123"))
