"""Recovering a task whose attempt was lost (its node died, or the attempt crashed)."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from db import calls as call_queries
from db import dispatch, tasks
from db.errors import NotFound, TransitionRefused
from db.models import Task, TaskStatus
from db.tasks import TaskMove
from engine.lifecycle.retry import backoff
from engine.tasks.states import move_task

log = logging.getLogger(__name__)
S = TaskStatus
LOST = frozenset({S.DIALING, S.IN_CALL})


async def recover_task(pool: asyncpg.Pool, task: Task, *, reason: str, now: datetime) -> Task | None:
    """End the task's unfinished calls and retry it (or fail it when its attempts are used up).

    None when the task had already left dialing/in_call (another sweep won).
    """
    for call_id in await dispatch.unfinished_calls_of_task(pool, task.user_id, task.id):
        try:
            await call_queries.finish_call(pool, task.user_id, call_id, outcome="failed", ended_at=now,
                                           detail=f"lost: {reason}")
        except NotFound:
            pass  # finished meanwhile
    try:
        current = await tasks.get_task(pool, task.user_id, task.id)
        if current.status not in LOST:
            return None
        if current.attempt_count >= current.max_attempts:
            message = f"Attempt lost ({reason}); all {current.max_attempts} attempts used"
            return await move_task(pool, task.user_id, task.id, TaskMove(
                to=S.FAILED, expected=LOST, kind="recovery", why=message, changes={"failure_reason": message}))
        at = now + backoff("node_lost", 1)
        return await move_task(pool, task.user_id, task.id, TaskMove(
            to=S.RETRY_SCHEDULED, expected=LOST, kind="recovery", why=f"Attempt lost ({reason}); retrying shortly",
            data={"next_attempt_at": at.isoformat()}, changes={"next_attempt_at": at, "claimed_by": None},
        ))
    except (TransitionRefused, NotFound):
        return None
