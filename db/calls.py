"""Calls: one attempt at a task, from originate to the last leg gone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from db.errors import InvalidInput, NotFound
from db.models import Call, Executor, columns
from db.notify import publish
from db.validation import check_choice

OUTCOMES = ("answered", "busy", "no_answer", "congestion", "unallocated", "rejected", "unavailable", "failed")
_CALL = columns(Call)


async def create_call(
    conn: Executor,
    user_id: int,
    task_id: UUID,
    *,
    attempt: int,
    node_id: str,
    destination: str,
    call_id: UUID | None = None,
    is_test: bool = False,
) -> Call:
    """Record an attempt for one of the user's tasks (the id becomes the ARI channel id), or a test call."""
    record = await conn.fetchrow(
        f"""INSERT INTO calls (id, user_id, task_id, attempt, node_id, destination, is_test)
            SELECT coalesce($1, gen_random_uuid()), $2, id, $4, $5, $6, $7
            FROM tasks WHERE id = $3 AND user_id = $2
            RETURNING {_CALL}""",
        call_id,
        user_id,
        task_id,
        attempt,
        node_id,
        destination,
        is_test,
    )
    if record is None:
        raise NotFound("task", task_id)
    await publish(conn, "call", user_id, call_id=record["id"], task_id=task_id, status="dialing")
    return Call.from_record(record)


async def create_plan_test_call(conn: Executor, user_id: int, *, node_id: str, draft: dict[str, Any]) -> Call:
    """Record a test call of a proposed call (a plan's "Try it"): no task, the draft kept with the call."""
    record = await conn.fetchrow(
        f"""INSERT INTO calls (user_id, task_id, attempt, node_id, destination, is_test, test_draft)
            VALUES ($1, NULL, 1, $2, 'browser', true, $3)
            RETURNING {_CALL}""",
        user_id,
        node_id,
        draft,
    )
    await publish(conn, "call", user_id, call_id=record["id"], task_id=None, status="dialing")
    return Call.from_record(record)


async def get_call(conn: Executor, user_id: int, call_id: UUID) -> Call:
    record = await conn.fetchrow(f"SELECT {_CALL} FROM calls WHERE id = $1 AND user_id = $2", call_id, user_id)
    if record is None:
        raise NotFound("call", call_id)
    return Call.from_record(record)


async def list_calls(
    conn: Executor,
    user_id: int,
    *,
    task_id: UUID | None = None,
    limit: int = 100,
    offset: int = 0,
    tests: bool = False,
) -> list[Call]:
    """The user's calls, newest first: the attempts, or (`tests=True`) only the test calls."""
    records = await conn.fetch(
        f"""SELECT {_CALL} FROM calls WHERE user_id = $1 AND ($2::uuid IS NULL OR task_id = $2) AND is_test = $5
            ORDER BY originated_at DESC LIMIT $3 OFFSET $4""",
        user_id,
        task_id,
        limit,
        offset,
        tests,
    )
    return [Call.from_record(r) for r in records]


async def mark_answered(conn: Executor, user_id: int, call_id: UUID, answered_at: datetime) -> Call:
    record = await conn.fetchrow(
        f"""UPDATE calls SET status = 'in_call', answered_at = $3
            WHERE id = $1 AND user_id = $2 AND status = 'dialing' RETURNING {_CALL}""",
        call_id,
        user_id,
        answered_at,
    )
    if record is None:
        raise NotFound("dialing call", call_id)
    await publish(conn, "call", user_id, call_id=call_id, task_id=record["task_id"], status="in_call")
    return Call.from_record(record)


async def finish_call(
    conn: Executor,
    user_id: int,
    call_id: UUID,
    *,
    outcome: str,
    ended_at: datetime,
    q850_cause: int | None = None,
    sip_code: int | None = None,
    hangup_by: str | None = None,
    detail: str = "",
    recording: str | None = None,
    answered_at: datetime | None = None,
) -> Call:
    """Store the telephony outcome of a call that has not been finished yet."""
    check_choice("outcome", outcome, OUTCOMES)
    record = await conn.fetchrow(
        f"""UPDATE calls SET status = 'ended', outcome = $3, ended_at = $4, q850_cause = $5,
                   sip_code = $6, hangup_by = $7, detail = left($8, 2000), recording = $9,
                   answered_at = coalesce(answered_at, $10)
            WHERE id = $1 AND user_id = $2 AND status <> 'ended' RETURNING {_CALL}""",
        call_id,
        user_id,
        outcome,
        ended_at,
        q850_cause,
        sip_code,
        hangup_by,
        detail,
        recording,
        answered_at,
    )
    if record is None:
        raise NotFound("live call", call_id)
    await publish(conn, "call", user_id, call_id=call_id, task_id=record["task_id"], status="ended")
    return Call.from_record(record)


async def set_recording(conn: Executor, user_id: int, call_id: UUID, recording: str | None) -> Call:
    """Name the call's stored recording (relative to the node's recordings directory), or forget it (None)."""
    record = await conn.fetchrow(
        f"UPDATE calls SET recording = $3 WHERE id = $1 AND user_id = $2 RETURNING {_CALL}", call_id, user_id, recording
    )
    if record is None:
        raise NotFound("call", call_id)
    await publish(conn, "call", user_id, call_id=call_id, task_id=record["task_id"], status=record["status"])
    return Call.from_record(record)


async def set_call_metrics(conn: Executor, user_id: int, call_id: UUID, metrics: dict[str, Any]) -> None:
    status = await conn.execute(
        "UPDATE calls SET metrics = metrics || $3::jsonb WHERE id = $1 AND user_id = $2", call_id, user_id, metrics
    )
    if status == "UPDATE 0":
        raise NotFound("call", call_id)


async def set_call_verdict(conn: Executor, user_id: int, call_id: UUID, *, verdict: str, reason: str) -> None:
    if len(reason) > 4000:
        raise InvalidInput("verdict_reason", "at most 4000 characters")
    status = await conn.execute(
        "UPDATE calls SET verdict = $3, verdict_reason = $4 WHERE id = $1 AND user_id = $2",
        call_id,
        user_id,
        verdict,
        reason,
    )
    if status == "UPDATE 0":
        raise NotFound("call", call_id)


async def live_calls_of_node(conn: Executor, node_id: str) -> list[Call]:
    """System query for recovery: calls this node started that have not ended (all users)."""
    records = await conn.fetch(f"SELECT {_CALL} FROM calls WHERE node_id = $1 AND status <> 'ended'", node_id)
    return [Call.from_record(r) for r in records]


# With the user's id, the advisory lock that serialises one user's test-call creation (the daily allowance).
TEST_CALL_ALLOWANCE_LOCK_KEY = 0x0DEE_7E57


async def lock_user_test_calls(conn: Executor, user_id: int) -> None:
    """Hold the user's test-call lock until the transaction ends (count-then-insert is then atomic)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", TEST_CALL_ALLOWANCE_LOCK_KEY, user_id)


async def count_recent_test_calls(conn: Executor, user_id: int) -> int:
    """How many test calls the user started in the last 24 hours, by the database's clock (the daily allowance)."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM calls WHERE user_id = $1 AND is_test AND originated_at > now() - interval '1 day'",
        user_id,
    ))


