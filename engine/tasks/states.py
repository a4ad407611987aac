"""The task state machine (architecture §3) on top of the guarded SQL transition."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from db import tasks as task_queries
from db.models import Executor, Task, TaskStatus
from db.tasks import TaskMove

S = TaskStatus

TERMINAL: frozenset[TaskStatus] = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.BLOCKED_DND})

LEGAL: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.CANCELLED}),
    # A scheduled task can be found on a do-not-call list before it is ever dialled.
    S.SCHEDULED: frozenset({S.DIALING, S.CANCELLED, S.BLOCKED_DND}),
    # From dialing: answered; unanswered (retry or give up); policy says no at the last moment
    # (back to scheduled for the next calling window, or blocked).
    S.DIALING: frozenset({S.IN_CALL, S.RETRY_SCHEDULED, S.FAILED, S.SCHEDULED, S.BLOCKED_DND, S.CANCELLED}),
    S.IN_CALL: frozenset(
        {S.SUCCEEDED, S.FAILED, S.RETRY_SCHEDULED, S.PENDING_USER_INFO, S.CANCELLED, S.BLOCKED_DND}
    ),
    S.RETRY_SCHEDULED: frozenset({S.DIALING, S.CANCELLED, S.BLOCKED_DND, S.SCHEDULED}),
    S.PENDING_USER_INFO: frozenset({S.SCHEDULED, S.CANCELLED, S.FAILED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.BLOCKED_DND: frozenset(),
}


class IllegalTransition(ValueError):
    """A transition the state machine does not allow at all (a programming error or bad request)."""

    def __init__(self, current: TaskStatus, wanted: TaskStatus) -> None:
        super().__init__(f"a task cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def sources_of(wanted: TaskStatus) -> frozenset[TaskStatus]:
    """Every state from which `wanted` may be reached."""
    return frozenset(state for state, targets in LEGAL.items() if wanted in targets)


def check_legal(current: TaskStatus, wanted: TaskStatus) -> None:
    if wanted not in LEGAL[current]:
        raise IllegalTransition(current, wanted)


def checked(move: TaskMove) -> TaskMove:
    """`move` with the states it may leave filled in (default: every state its target is legal from).

    Raises IllegalTransition when one of its expected states may never lead to its target.
    """
    if move.expected is None:
        return replace(move, expected=sources_of(move.to))
    for source in move.expected:
        check_legal(source, move.to)
    return move


async def move_task(conn: Executor, user_id: int, task_id: UUID, move: TaskMove) -> Task:
    """Apply `move` to the task once the state machine allows it.

    Raises IllegalTransition (before any database work) for a pair the machine never
    allows, and db.errors.TransitionRefused when the task is in another state right now.
    """
    return await task_queries.transition_task(conn, user_id, task_id, checked(move))
