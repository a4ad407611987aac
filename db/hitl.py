"""Questions the agent asks a task's owner during (or after) a call."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from db.errors import InvalidInput, NotFound
from db.models import Executor, HitlRequest, InboxQuestion, Task, columns
from db.notify import publish
from db.validation import check_length

_HITL = columns(HitlRequest)
_TASK = columns(Task)


async def create_request(
    conn: Executor,
    user_id: int,
    task_id: UUID,
    *,
    question: str,
    deadline: datetime,
    call_id: UUID | None = None,
    recipient_message: str = "",
    request_id: UUID | None = None,
) -> HitlRequest:
    """`request_id` lets the asker know the id before the INSERT (to clean up if it is cancelled)."""
    check_length("question", question, 2000, required=True)
    check_length("recipient_message", recipient_message, 2000)
    # `task_id` names a task of the user, or (a plan's test call, which runs with no task) that test call.
    record = await conn.fetchrow(
        f"""INSERT INTO hitl_requests (id, user_id, task_id, call_id, question, recipient_message, deadline)
            SELECT coalesce($7, gen_random_uuid()), $1, asker.task_id, $3, $4, $5, $6
            FROM (SELECT id AS task_id FROM tasks WHERE id = $2 AND user_id = $1
                  UNION ALL
                  SELECT NULL FROM calls WHERE id = $2 AND id = $3 AND user_id = $1 AND task_id IS NULL AND is_test
                 ) asker
            RETURNING {_HITL}""",
        user_id,
        task_id,
        call_id,
        question,
        recipient_message,
        deadline,
        request_id,
    )
    if record is None:
        raise NotFound("task", task_id)
    await publish(conn, "hitl", user_id, request_id=record["id"], task_id=record["task_id"], status="open")
    return HitlRequest.from_record(record)


async def get_request(conn: Executor, user_id: int, request_id: UUID) -> HitlRequest:
    record = await conn.fetchrow(
        f"SELECT {_HITL} FROM hitl_requests WHERE id = $1 AND user_id = $2", request_id, user_id
    )
    if record is None:
        raise NotFound("question", request_id)
    return HitlRequest.from_record(record)


async def list_requests(
    conn: Executor,
    user_id: int,
    *,
    status: str | None = None,
    task_id: UUID | None = None,
    call_id: UUID | None = None,
    limit: int = 100,
) -> list[HitlRequest]:
    """The user's questions, newest first; `call_id`: those one call asked.

    `task_id`: the task's own questions, those of its attempts and after them. A test call of the task
    ("Try it") keeps the task's id on its questions (the inbox shows the task), but they are not the task's:
    its answer reaches the test call only, so they stay off the task's page and do not count as the question
    the task waits on (`park_for_user_info`); `call_id` (or the inbox) lists them.
    """
    records = await conn.fetch(
        f"""SELECT {columns(HitlRequest, "h")} FROM hitl_requests h
            WHERE h.user_id = $1 AND ($2::text IS NULL OR h.status = $2)
              AND ($3::uuid IS NULL OR (h.task_id = $3 AND NOT EXISTS (
                   SELECT 1 FROM calls c WHERE c.id = h.call_id AND c.user_id = h.user_id AND c.is_test)))
              AND ($5::uuid IS NULL OR h.call_id = $5)
            ORDER BY h.created_at DESC LIMIT $4""",
        user_id,
        status,
        task_id,
        limit,
        call_id,
    )
    return [HitlRequest.from_record(r) for r in records]


async def list_inbox_requests(conn: Executor, user_id: int, *, limit: int = 100) -> list[InboxQuestion]:
    """The user's questions, newest first, each with its task's callee and objective, and whether a test call
    ("Try it", of a task or of a plan's proposed call) asked it: the inbox then leads to that test call's page,
    not to the task's (which does not show it) nor to the call page's voice panel (a test call has none)."""
    records = await conn.fetch(
        f"""SELECT {columns(HitlRequest, "h")},
                   coalesce(t.callee_name, c.test_draft #>> '{{task,callee_name}}', '') AS callee_name,
                   coalesce(t.phone_number, c.test_draft #>> '{{task,phone_number}}', '') AS phone_number,
                   coalesce(t.objective, c.test_draft #>> '{{task,objective}}', '') AS objective,
                   coalesce(c.is_test, false) AS is_test
            FROM hitl_requests h
            LEFT JOIN tasks t ON t.id = h.task_id AND t.user_id = h.user_id
            LEFT JOIN calls c ON c.id = h.call_id AND c.user_id = h.user_id
            WHERE h.user_id = $1 AND (t.id IS NOT NULL OR (h.task_id IS NULL AND c.id IS NOT NULL))
            ORDER BY h.created_at DESC LIMIT $2""",
        user_id,
        limit,
    )
    return [InboxQuestion.from_record(r) for r in records]


async def count_open_requests(conn: Executor, user_id: int) -> int:
    """How many of the user's questions wait for an answer (the inbox badge)."""
    return await conn.fetchval("SELECT count(*) FROM hitl_requests WHERE user_id = $1 AND status = 'open'", user_id)


async def answer_request(conn: Executor, user_id: int, request_id: UUID, answer: str) -> HitlRequest:
    """Record the owner's answer; refused for a request that is not theirs or not open."""
    return await _answer(conn, user_id, request_id, answer, answerable=("open",))


async def close_request(conn: Executor, user_id: int, request_id: UUID, *, status: str) -> bool:
    """Expire or cancel an open request; False when it was no longer open."""
    if status not in ("expired", "cancelled"):
        raise InvalidInput("status", f"{status!r}: a request closes as expired or cancelled")
    record = await conn.fetchrow(
        """UPDATE hitl_requests SET status = $3 WHERE id = $1 AND user_id = $2 AND status = 'open'
           RETURNING task_id""",
        request_id,
        user_id,
        status,
    )
    if record is None:
        return False
    await publish(conn, "hitl", user_id, request_id=request_id, task_id=record["task_id"], status=status)
    return True


async def expire_overdue_requests(conn: Executor, now: datetime) -> list[HitlRequest]:
    """System sweep (all users): close open requests whose deadline has passed."""
    records = await conn.fetch(
        f"""UPDATE hitl_requests SET status = 'expired' WHERE status = 'open' AND deadline < $1
            RETURNING {_HITL}""",
        now,
    )
    expired = [HitlRequest.from_record(r) for r in records]
    for request in expired:
        await publish(conn, "hitl", request.user_id, request_id=request.id, task_id=request.task_id, status="expired")
    return expired


async def answer_request_after_call(conn: Executor, user_id: int, request_id: UUID, answer: str) -> HitlRequest:
    """Record an answer that no live call will hear (the call ended, or the question expired).

    Accepts an open or expired request; refuses one already answered or cancelled.
    The caller carries the answer to the task's next attempt.
    """
    return await _answer(conn, user_id, request_id, answer, answerable=("open", "expired"), after_call=True)


async def _answer(
    conn: Executor, user_id: int, request_id: UUID, answer: str, *, answerable: tuple[str, ...], **notice: Any
) -> HitlRequest:
    """Answer the request if its status is one of `answerable`, in one guarded statement."""
    check_length("answer", answer, 4000, required=True)
    record = await conn.fetchrow(
        f"""WITH current AS (SELECT id, status FROM hitl_requests WHERE id = $1 AND user_id = $2 FOR UPDATE),
                answered AS (
                    UPDATE hitl_requests h SET status = 'answered', answer = $3, answered_at = now()
                    FROM current c WHERE h.id = c.id AND c.status = ANY($4::text[])
                    RETURNING {columns(HitlRequest, "h")})
            SELECT c.status AS current_status, a.* FROM current c LEFT JOIN answered a ON true""",
        request_id,
        user_id,
        answer.strip(),
        list(answerable),
    )
    if record is None:
        raise NotFound("question", request_id)
    if record["id"] is None:
        raise InvalidInput("answer", f"this question is {record['current_status']} and can no longer be answered")
    await publish(conn, "hitl", user_id, request_id=request_id, task_id=record["task_id"], status="answered", **notice)
    return HitlRequest(**{name: record[name] for name in HitlRequest.__struct_fields__})


async def append_user_answer(conn: Executor, user_id: int, task_id: UUID, entry: dict[str, Any]) -> Task:
    """Append one answer to the task's carried context (`context["user_answers"]`), atomically."""
    record = await conn.fetchrow(
        f"""UPDATE tasks SET context = jsonb_set(context, '{{user_answers}}',
                   COALESCE(context -> 'user_answers', '[]'::jsonb) || jsonb_build_array($3::jsonb)),
                   updated_at = now()
            WHERE id = $1 AND user_id = $2 RETURNING {_TASK}""",
        task_id,
        user_id,
        entry,
    )
    if record is None:
        raise NotFound("task", task_id)
    return Task.from_record(record)
