"""The owner answers a question: what the web app calls, and what happens next.

`answer_question` decides between three outcomes and says which one happened:

- the question is open and its call is live: the answer is written, the NOTIFY wakes
  the broker on whichever node holds the call (`DELIVERED`);
- the call can no longer hear it (the question expired, or its call ended or failed):
  refused with a clear message, unless the owner explicitly answers *for the next call*
  (`for_next_call=True`, e.g. from the task page). Then the answer is stored in the
  task's carried context and, if the task waits for the owner (`pending_user_info`), a
  new attempt is scheduled at `next_opening(task, now)` (`CALLBACK_SCHEDULED`); if the
  task is elsewhere (its call is still being analysed, or a retry is already planned)
  the answer simply rides along with the next attempt (`STORED_FOR_NEXT_CALL`; a call
  still being analysed is then not parked but scheduled at once, see `park_for_user_info`);
- anything else is refused (`REFUSED`, with a `reason`): not the owner's question,
  already answered, cancelled, the task is finished, or an empty answer.

Every answer, live or not, is appended to `tasks.context["user_answers"]`, so a later
attempt knows it even if the live call dropped at the moment it arrived. Not a test call's
("Try it"): its answer reaches the test call only, and once the test call is over its
question is refused like a plan's test call's; a test never changes its task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

import asyncpg
import msgspec

from db import calls as call_queries
from db import hitl as hitl_queries
from db import tasks as task_queries
from db.errors import InvalidInput, NotFound
from db.models import Call, Executor, HitlRequest, Task, TaskStatus
from db.pool import connection, transaction
from db.tasks import TaskMove
from db.validation import check_length
from engine.hitl.carried import answer_entry
from engine.tasks.states import TERMINAL, move_task

PENDING_INFO_DEADLINE = timedelta(hours=24)  # how long a question asked after a call stays open

NextOpening = Callable[[Task, datetime], datetime]
"""When the next attempt may start; the lifecycle plugs in its calling-window function."""


def call_now(task: Task, now: datetime) -> datetime:
    """The default `next_opening`: at once (the dialer still applies its calling window)."""
    return now


class AnswerOutcome(StrEnum):
    DELIVERED = "delivered"  # sent to the call in progress
    CALLBACK_SCHEDULED = "callback_scheduled"  # stored; the task is scheduled again
    STORED_FOR_NEXT_CALL = "stored_for_next_call"  # stored; the next attempt will carry it
    REFUSED = "refused"


class RefusalReason(StrEnum):
    NOT_FOUND = "not_found"  # no such question for this user (another user's looks the same)
    EXPIRED = "expired"  # the call cannot hear it any more; may be answered for the next call
    ALREADY_ANSWERED = "already_answered"
    CANCELLED = "cancelled"
    TASK_FINISHED = "task_finished"
    INVALID = "invalid"


class AnswerResult(msgspec.Struct, kw_only=True):
    outcome: AnswerOutcome
    message: str  # one sentence for the owner
    reason: RefusalReason | None = None
    can_answer_for_next_call: bool = False
    request: HitlRequest | None = None
    task_status: TaskStatus | None = None
    next_attempt_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome is not AnswerOutcome.REFUSED


def _refused(reason: RefusalReason, message: str, **fields: object) -> AnswerResult:
    result = AnswerResult(outcome=AnswerOutcome.REFUSED, reason=reason, message=message)
    return msgspec.structs.replace(result, **fields)


async def answer_question(
    conn: Executor,
    user_id: int,
    request_id: UUID,
    answer: str,
    *,
    for_next_call: bool = False,
    now: datetime | None = None,
    next_opening: NextOpening = call_now,
) -> AnswerResult:
    """Give the owner's answer to one question; never raises for a refusal."""
    try:
        text = check_length("answer", answer, 4000, required=True).strip()
    except InvalidInput as exc:
        return _refused(RefusalReason.INVALID, str(exc))
    if not text:
        return _refused(RefusalReason.INVALID, "answer: is required")
    now = now or datetime.now(UTC)
    async with connection(conn) as c:
        try:
            request = await hitl_queries.get_request(c, user_id, request_id)
        except NotFound:
            return _refused(RefusalReason.NOT_FOUND, "There is no such question for you.")
        asked_on = await _asking_call(c, user_id, request)
        from_test_call = asked_on is not None and asked_on.is_test
        if request.status == "open" and (request.call_id is None or (asked_on and asked_on.status != "ended")):
            delivered = await _answer_live(c, user_id, request, text, now, carry=not from_test_call)
            if delivered is not None:
                return delivered
            request = await hitl_queries.get_request(c, user_id, request_id)  # it expired meanwhile
        refusal = _closed_refusal(request)
        if refusal is not None:
            return refusal
        if request.task_id is None or from_test_call:
            return _refused(RefusalReason.EXPIRED, "This question came from a test call that is over; "
                            "there is no next call to keep the answer for.", request=request)
        if not for_next_call:
            return _refused(
                RefusalReason.EXPIRED,
                f"This question expired at {request.deadline:%H:%M} UTC or its call ended, so the call could "
                "not wait for your answer. You can still answer it for the next call.",
                can_answer_for_next_call=True,
                request=request,
            )
        return await _answer_for_next_call(c, user_id, request, text, now, next_opening)


async def _answer_live(
    conn: asyncpg.Connection, user_id: int, request: HitlRequest, text: str, now: datetime, *, carry: bool
) -> AnswerResult | None:
    """None when the question stopped being open before our answer got there. `carry`: the answer is also
    kept on the task for its later attempts (not for a test call's: a test never changes its task)."""
    try:
        async with conn.transaction():
            answered = await hitl_queries.answer_request(conn, user_id, request.id, text)
            task = None
            if carry and request.task_id is not None:  # None: a plan's test call, with no task to remember it
                task = await hitl_queries.append_user_answer(
                    conn, user_id, request.task_id, answer_entry(answered, text, now, after_call=False)
                )
    except InvalidInput:
        return None
    return AnswerResult(
        outcome=AnswerOutcome.DELIVERED,
        message="Your answer was sent to the call in progress." if carry else "Your answer was sent to the test call.",
        request=answered,
        task_status=task.status if task else None,
    )


async def _answer_for_next_call(
    conn: asyncpg.Connection,
    user_id: int,
    request: HitlRequest,
    text: str,
    now: datetime,
    next_opening: NextOpening,
) -> AnswerResult:
    task = await task_queries.get_task(conn, user_id, request.task_id)
    if task.status in TERMINAL:
        return _refused(
            RefusalReason.TASK_FINISHED,
            f"The task is already {task.status.value.replace('_', ' ')}; there will be no next call.",
            request=request,
            task_status=task.status,
        )
    try:
        async with conn.transaction():
            answered = await hitl_queries.answer_request_after_call(conn, user_id, request.id, text)
            task = await hitl_queries.append_user_answer(
                conn, user_id, request.task_id, answer_entry(answered, text, now, after_call=True)
            )
            if task.status == TaskStatus.PENDING_USER_INFO:
                task = await _schedule(conn, user_id, task, now, next_opening, answered)
    except InvalidInput:
        current = await hitl_queries.get_request(conn, user_id, request.id)
        return _closed_refusal(current) or _refused(RefusalReason.INVALID, "This question can no longer be answered.")
    if task.status == TaskStatus.SCHEDULED:
        return AnswerResult(
            outcome=AnswerOutcome.CALLBACK_SCHEDULED,
            message="Thanks. The assistant will call back with your answer.",
            request=answered,
            task_status=task.status,
            next_attempt_at=task.next_attempt_at,
        )
    return AnswerResult(
        outcome=AnswerOutcome.STORED_FOR_NEXT_CALL,
        message="Thanks. The next call for this task will use your answer.",
        request=answered,
        task_status=task.status,
        next_attempt_at=task.next_attempt_at,
    )


async def _schedule(
    conn: asyncpg.Connection,
    user_id: int,
    task: Task,
    now: datetime,
    next_opening: NextOpening,
    request: HitlRequest,
) -> Task:
    return await move_task(
        conn,
        user_id,
        task.id,
        TaskMove(
            to=TaskStatus.SCHEDULED,
            expected=TaskStatus.PENDING_USER_INFO,
            why=f'The owner answered "{request.question[:200]}"; calling back with the answer',
            kind="hitl_answered",
            actor="user",
            call_id=request.call_id,
            data={"request_id": str(request.id)},
            changes={"next_attempt_at": next_opening(task, now)},
        ),
    )


async def park_for_user_info(
    conn: Executor,
    user_id: int,
    task_id: UUID,
    move: TaskMove,
    *,
    question: str,
    now: datetime | None = None,
    next_opening: NextOpening = call_now,
) -> Task:
    """Apply `move` (to pending_user_info, naming its call) after that call left `question` unanswered.

    The move also records the question in the task's context (`pending_question`) and
    releases the claim. If the owner already answered that call's last question (the
    answer raced the end of the call, or came while the call was being analysed), the
    task is scheduled again at once, carrying the answer, instead of waiting for an
    answer that has already arrived. Otherwise it waits with a question open for the
    owner: the one already open for the task, or a new one (`PENDING_INFO_DEADLINE` to
    answer).

    The move comes first and the answer is looked for after it, in one transaction: an
    answer committed before it is seen here, one committed after it finds the task
    waiting and schedules it itself (`_answer_for_next_call`).
    """
    if move.to is not TaskStatus.PENDING_USER_INFO or move.call_id is None:
        raise ValueError(f"parking needs a move to pending_user_info from a call, not {move!r}")
    call_id = move.call_id
    move = replace(move, changes={**move.changes, "context": {"pending_question": question}, "claimed_by": None})
    now = now or datetime.now(UTC)
    async with transaction(conn) as c:
        task = await move_task(c, user_id, task_id, move)
        requests = await hitl_queries.list_requests(c, user_id, task_id=task_id)
        asked = [r for r in requests if r.call_id == call_id]
        if asked and asked[0].status == "answered":
            return await _schedule(c, user_id, task, now, next_opening, asked[0])
        if not any(r.status == "open" for r in requests):
            await hitl_queries.create_request(
                c, user_id, task_id, question=question[:2000], deadline=now + PENDING_INFO_DEADLINE, call_id=call_id
            )
        return task


def _closed_refusal(request: HitlRequest) -> AnswerResult | None:
    if request.status == "answered":
        return _refused(
            RefusalReason.ALREADY_ANSWERED, "This question was already answered.", request=request
        )
    if request.status == "cancelled":
        return _refused(RefusalReason.CANCELLED, "This question was withdrawn.", request=request)
    return None


async def _asking_call(conn: Executor, user_id: int, request: HitlRequest) -> Call | None:
    """The call that asked; None when asked outside a recorded call (whoever asked may still be waiting)
    or when that call is gone."""
    if request.call_id is None:
        return None
    try:
        return await call_queries.get_call(conn, user_id, request.call_id)
    except NotFound:
        return None

