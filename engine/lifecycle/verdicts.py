"""What a decision means for a task, and applying it: a policy refusal before dialling, a verdict after a call.

Two dispatch tables say what each decision does to the task, as a `TaskMove` built
by a pure function: `REFUSAL_MOVES` (by `Decision` type) and `VERDICT_MOVES` (by
`VerdictKind`). Applying a move is one guarded transition with an event a person can
read, except for two verdicts (`VERDICT_APPLIERS`): do-not-call also puts the number
on the owner's list in the same transaction, and waiting for the owner goes through
`engine.hitl.park_for_user_info`, which opens the owner's question, or schedules the
task at once if the answer already arrived.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from db import calls as call_queries
from db import dnd
from db.models import Task, TaskStatus
from db.tasks import TaskMove
from engine.hitl.answers import park_for_user_info
from engine.lifecycle.analysis import Verdict, VerdictKind
from engine.lifecycle.policy import Block, Decision, Defer, GiveUp
from engine.lifecycle.retry import OutOfAttempts, RetryAt, plan_retry
from engine.tasks.calling_window import CallingWindow, ConstraintError, task_deadline
from engine.tasks.states import move_task

S = TaskStatus
WAITING_PREFIX = "Waiting for your answer: "  # how the rules word a PENDING_USER_INFO verdict


# --- refusals: the policy says no to a claimed task ----------------------------------


def _uncounted(task: Task) -> int:
    """The attempt count without the claim's attempt, which never happened."""
    return max(task.attempt_count - 1, 0)


def _defer(task: Task, decision: Defer) -> TaskMove:
    return TaskMove(
        to=S.SCHEDULED, why=decision.reason, data={"next_attempt_at": decision.until.isoformat()},
        changes={"next_attempt_at": decision.until, "attempt_count": _uncounted(task), "claimed_by": None},
    )


def _block(task: Task, decision: Block) -> TaskMove:
    return TaskMove(to=S.BLOCKED_DND, why=f"Not dialled: {decision.reason}",
                    changes={"attempt_count": _uncounted(task), "failure_reason": decision.reason})


def _give_up(task: Task, decision: GiveUp) -> TaskMove:
    return TaskMove(to=S.FAILED, why=decision.reason,
                    changes={"attempt_count": _uncounted(task), "failure_reason": decision.reason})


REFUSAL_MOVES: dict[type, Callable[[Task, Any], TaskMove]] = {
    Defer: _defer,  # to the next calling window
    Block: _block,  # on a do-not-call list
    GiveUp: _give_up,  # out of attempts, past the deadline, unreadable constraints
}


def refusal_move(task: Task, decision: Decision, *, actor: str = "policy") -> TaskMove:
    """The move that undoes a claim the policy refuses (TypeError for `Allow`)."""
    build = REFUSAL_MOVES.get(type(decision))
    if build is None:
        raise TypeError(f"not a refusal: {decision!r}")
    return replace(build(task, decision), expected=S.DIALING, kind="policy", actor=actor)


async def apply_refusal(pool: asyncpg.Pool, task: Task, decision: Decision) -> Task:
    """Undo a claim the policy refuses: to the next calling window, blocked, or out of attempts."""
    return await move_task(pool, task.user_id, task.id, refusal_move(task, decision))


# --- verdicts: what the call settled ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryTerms:
    """What a retry is planned against: the task's calling window, now, and the backoff's jitter."""

    window: CallingWindow
    now: datetime
    rng: random.Random | None = None

    def plan(self, task: Task, verdict: Verdict) -> RetryAt | OutOfAttempts:
        return plan_retry(
            reason=verdict.retry_reason or "inconclusive", attempt=task.attempt_count,
            max_attempts=task.max_attempts, now=self.now, window=self.window, requested_at=verdict.retry_at,
            rng=self.rng, deadline=_deadline_or_none(task),
        )


def _succeeded(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    return TaskMove(to=S.SUCCEEDED, why=f"Succeeded: {verdict.reason}",
                    changes={"result": {"summary": verdict.summary or verdict.reason, "facts": verdict.facts}})


def _failed(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    return _failure(verdict, verdict.reason)


def _wrong_number(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    return _failure(verdict, f"Wrong number: {verdict.reason}")


def _failure(verdict: Verdict, reason: str) -> TaskMove:
    return TaskMove(to=S.FAILED, why=f"Failed: {reason}",
                    changes={"failure_reason": reason[:2000],
                             "result": {"summary": verdict.summary, "facts": verdict.facts}})


def _do_not_call(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    return TaskMove(to=S.BLOCKED_DND, why=f"{task.phone_number} added to your do-not-call list: {verdict.reason}",
                    changes={"failure_reason": verdict.reason})


def _wait_for_owner(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    # park_for_user_info adds the question to the context and releases the claim
    return TaskMove(to=S.PENDING_USER_INFO, why=verdict.reason)


def _retry_or_give_up(task: Task, verdict: Verdict, terms: RetryTerms) -> TaskMove:
    planned = terms.plan(task, verdict)
    if isinstance(planned, OutOfAttempts):
        reason = f"{planned.message}: {verdict.reason}"
        return TaskMove(to=S.FAILED, why=reason, changes={"failure_reason": reason[:2000]})
    return TaskMove(to=S.RETRY_SCHEDULED, why=f"{verdict.reason}. {planned.message}",
                    data={"next_attempt_at": planned.at.isoformat()},
                    changes={"next_attempt_at": planned.at, "claimed_by": None})


VERDICT_MOVES: dict[VerdictKind, Callable[[Task, Verdict, RetryTerms], TaskMove]] = {
    VerdictKind.SUCCEEDED: _succeeded,
    VerdictKind.FAILED: _failed,
    VerdictKind.WRONG_NUMBER: _wrong_number,
    VerdictKind.DO_NOT_CALL: _do_not_call,
    VerdictKind.PENDING_USER_INFO: _wait_for_owner,
    VerdictKind.RETRY: _retry_or_give_up,  # fails instead when the attempts or the deadline run out
}


def verdict_move(task: Task, verdict: Verdict, *, current: TaskStatus, call_id: UUID, terms: RetryTerms) -> TaskMove:
    """The move `verdict` means for `task` (now in `current`), as an event of the call `call_id`."""
    move = VERDICT_MOVES[verdict.kind](task, verdict, terms)
    data = {"verdict": verdict.kind.value, "decided_by": verdict.decided_by, **move.data}
    return replace(move, expected=current, call_id=call_id, actor="analysis", kind="verdict", data=data)


Applier = Callable[[asyncpg.Pool, Task, Verdict, TaskMove, datetime], Awaitable[Task]]


async def _move(pool: asyncpg.Pool, task: Task, verdict: Verdict, move: TaskMove, now: datetime) -> Task:
    return await move_task(pool, task.user_id, task.id, move)


async def _block_number(pool: asyncpg.Pool, task: Task, verdict: Verdict, move: TaskMove, now: datetime) -> Task:
    async with pool.acquire() as conn, conn.transaction():
        await dnd.add_number(conn, task.user_id, task.phone_number, reason="The callee asked not to be called again")
        return await move_task(conn, task.user_id, task.id, move)


async def _park(pool: asyncpg.Pool, task: Task, verdict: Verdict, move: TaskMove, now: datetime) -> Task:
    # Waits for the owner, or is scheduled at once if the answer already came (see park_for_user_info).
    question = verdict.reason.removeprefix(WAITING_PREFIX)
    return await park_for_user_info(pool, task.user_id, task.id, move, question=question, now=now)


VERDICT_APPLIERS: dict[VerdictKind, Applier] = {
    VerdictKind.DO_NOT_CALL: _block_number,  # the number joins the owner's list in the same transaction
    VerdictKind.PENDING_USER_INFO: _park,
}


async def apply_verdict(pool: asyncpg.Pool, task: Task, verdict: Verdict, move: TaskMove, *, now: datetime) -> Task:
    """Record the verdict on the call (`move.call_id`) and apply its move to the task."""
    if move.call_id is None:
        raise ValueError("a verdict's move names its call")
    await call_queries.set_call_verdict(pool, task.user_id, move.call_id, verdict=verdict.kind.value,
                                        reason=verdict.reason)
    return await VERDICT_APPLIERS.get(verdict.kind, _move)(pool, task, verdict, move, now)


def _deadline_or_none(task: Task) -> datetime | None:
    try:
        return task_deadline(task)
    except ConstraintError:
        return None  # the dial-time policy reports unreadable constraints
