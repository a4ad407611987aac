"""Applying a decision to a task: a policy refusal before dialling, or a verdict after a call.

Each is one guarded transition with an event a person can read; the do-not-call
verdict also puts the number on the owner's list in the same transaction. A verdict
that waits for the owner goes through `engine.hitl.park_for_user_info`, which opens the
owner's question, or schedules the task at once if the answer already arrived.
"""

from __future__ import annotations

import random
from datetime import datetime
from uuid import UUID

import asyncpg

from db import calls as call_queries
from db import dnd
from db.models import Task, TaskStatus, User
from db.tasks import TaskMove
from engine.hitl.answers import park_for_user_info
from engine.lifecycle.analysis import Verdict, VerdictKind
from engine.lifecycle.policy import Block, CallingWindow, Decision, Defer, GiveUp, PolicyError, task_deadline
from engine.lifecycle.retry import OutOfAttempts, plan_retry
from engine.tasks.states import move_task

S = TaskStatus


async def apply_refusal(pool: asyncpg.Pool, task: Task, decision: Decision, *, actor: str = "policy") -> Task:
    """Undo a claim the policy refuses: to the next calling window, blocked, or out of attempts."""
    if isinstance(decision, Defer):
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.SCHEDULED, expected=S.DIALING, kind="policy", actor=actor,
            why=decision.reason, data={"next_attempt_at": decision.until.isoformat()},
            # the claim counted an attempt that never happened
            changes={"next_attempt_at": decision.until, "attempt_count": max(task.attempt_count - 1, 0),
                     "claimed_by": None}))
    if isinstance(decision, Block):
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.BLOCKED_DND, expected=S.DIALING, kind="policy", actor=actor,
            why=f"Not dialled: {decision.reason}",
            changes={"attempt_count": max(task.attempt_count - 1, 0), "failure_reason": decision.reason}))
    if isinstance(decision, GiveUp):
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.FAILED, expected=S.DIALING, kind="policy", actor=actor,
            why=decision.reason,
            changes={"attempt_count": max(task.attempt_count - 1, 0), "failure_reason": decision.reason}))
    raise TypeError(f"not a refusal: {decision!r}")


async def apply_verdict(
    pool: asyncpg.Pool,
    task: Task,
    user: User,
    *,
    current: TaskStatus,
    call_id: UUID,
    verdict: Verdict,
    window: CallingWindow,
    now: datetime,
    rng: random.Random | None = None,
) -> Task:
    """Record the verdict on the call and move the task (from `current`) accordingly."""
    await call_queries.set_call_verdict(pool, task.user_id, call_id, verdict=verdict.kind.value, reason=verdict.reason)
    data = {"verdict": verdict.kind.value, "decided_by": verdict.decided_by}
    common = {"expected": current, "call_id": call_id, "actor": "analysis", "kind": "verdict"}
    kind = verdict.kind
    if kind is VerdictKind.SUCCEEDED:
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.SUCCEEDED, why=f"Succeeded: {verdict.reason}", data=data,
            changes={"result": {"summary": verdict.summary or verdict.reason, "facts": verdict.facts}}, **common))
    if kind in (VerdictKind.FAILED, VerdictKind.WRONG_NUMBER):
        reason = verdict.reason if kind is VerdictKind.FAILED else f"Wrong number: {verdict.reason}"
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.FAILED, why=f"Failed: {reason}", data=data,
            changes={"failure_reason": reason[:2000], "result": {"summary": verdict.summary, "facts": verdict.facts}},
            **common))
    if kind is VerdictKind.DO_NOT_CALL:
        async with pool.acquire() as conn, conn.transaction():
            await dnd.add_number(conn, task.user_id, task.phone_number,
                                 reason="The callee asked not to be called again")
            return await move_task(
                conn, task.user_id, task.id, TaskMove(to=S.BLOCKED_DND, data=data,
                why=f"{task.phone_number} added to your do-not-call list: {verdict.reason}",
                changes={"failure_reason": verdict.reason}, **common))
    if kind is VerdictKind.PENDING_USER_INFO:
        # Waits for the owner, or is scheduled at once if the answer already came (see park_for_user_info).
        return await park_for_user_info(
            pool, task.user_id, task.id, TaskMove(to=S.PENDING_USER_INFO, why=verdict.reason, data=data, **common),
            question=verdict.reason.removeprefix("Waiting for your answer: "), now=now,
        )
    attempt_plan = plan_retry(
        reason=verdict.retry_reason or "inconclusive", attempt=task.attempt_count, max_attempts=task.max_attempts,
        now=now, window=window, requested_at=verdict.retry_at, rng=rng, deadline=_deadline_or_none(task),
    )
    if isinstance(attempt_plan, OutOfAttempts):
        reason = f"{attempt_plan.message}: {verdict.reason}"
        return await move_task(
            pool, task.user_id, task.id, TaskMove(to=S.FAILED, why=reason, data=data,
            changes={"failure_reason": reason[:2000]}, **common))
    return await move_task(
        pool, task.user_id, task.id, TaskMove(to=S.RETRY_SCHEDULED, why=f"{verdict.reason}. {attempt_plan.message}",
        data={**data, "next_attempt_at": attempt_plan.at.isoformat()},
        changes={"next_attempt_at": attempt_plan.at, "claimed_by": None}, **common))


def _deadline_or_none(task: Task) -> datetime | None:
    try:
        return task_deadline(task)
    except PolicyError:
        return None  # the dial-time policy reports unreadable constraints
