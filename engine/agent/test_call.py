"""One test call: the task's agent (same profile, instructions, tools, greeting) with the owner's
browser as the callee (`BrowserCall`). Stored like a call, marked as a test (`calls.is_test`), with
its transcript, timeline and metrics; the task's status and attempts are never touched. A test
call ends when the owner ends it (or the page leaves), when the agent hangs up, or at its length limit
(`max_s`, on the call's clock), where the agent wraps up politely as at a call's limit; the page is
told why, and the stored call's `detail` says it too.

A plan's "Try it" tests a proposed call before any task exists: the call row keeps the task draft
(`calls.test_draft`) and `draft_task` makes the in-memory `Task` the agent runs, never stored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from db import calls as call_queries
from db import tasks as task_queries
from db.models import Call, Task, TaskStatus
from db.pool import transaction
from db.tasks import TaskDraft
from engine.agent.browser_call import BrowserCall
from engine.ports.agent import CallReport, metrics_as_json

log = logging.getLogger(__name__)

TEST_CALLS_PER_DAY = 20  # per user
TEST_CALL_MAX_S = 300
CUT_OFF_GRACE_S = 30.0  # beyond the limit: time for the wrap-up (a quiet moment, the goodbye) before a hard stop


class TestCallRefused(Exception):
    """The user may not start a test call now (the message says why)."""


async def _within_allowance(tx: asyncpg.Connection, user_id: int, per_day: int) -> None:
    """Inside the transaction that creates the test call: one user's "Try it" clicks count one after the other."""
    await call_queries.lock_user_test_calls(tx, user_id)
    if await call_queries.count_recent_test_calls(tx, user_id) >= per_day:
        raise TestCallRefused(f"You have made {per_day} test calls in the last 24 hours; try again later.")


async def open_test_call(pool: asyncpg.Pool, task: Task, node_id: str, per_day: int = TEST_CALLS_PER_DAY) -> Call:
    """Create the test call's row, within the user's daily allowance."""
    async with transaction(pool) as tx:
        await _within_allowance(tx, task.user_id, per_day)
        return await call_queries.create_call(
            tx, task.user_id, task.id, attempt=1, node_id=node_id, destination="browser", is_test=True
        )


async def open_plan_test_call(
    pool: asyncpg.Pool, user_id: int, draft: TaskDraft, node_id: str, *, conversation_id: UUID, index: int,
    per_day: int = TEST_CALLS_PER_DAY,
) -> Call:
    """A test call of a plan's proposed call (a validated draft): no task or campaign is created."""
    stored = {"task": msgspec.to_builtins(draft), "conversation_id": str(conversation_id), "index": index}
    async with transaction(pool) as tx:
        await _within_allowance(tx, user_id, per_day)
        return await call_queries.create_plan_test_call(tx, user_id, node_id=node_id, draft=stored)


def draft_task(call_row: Call) -> Task:
    """The in-memory task a plan's test call runs (built as a stored task would be; never stored)."""
    assert call_row.test_draft is not None, "not a plan's test call"
    draft = msgspec.convert(call_row.test_draft["task"], TaskDraft)
    now = call_row.originated_at
    return Task(
        id=call_row.id, user_id=call_row.user_id, campaign_id=None, phone_number=draft.phone_number,
        callee_name=draft.callee_name, objective=draft.objective, facts=draft.facts,
        success_criteria=draft.success_criteria, constraints=dict(draft.constraints), status=TaskStatus.DRAFT,
        priority=draft.priority, max_attempts=draft.max_attempts, attempt_count=0, next_attempt_at=None,
        claimed_by=None, claimed_at=None, context={}, result=None, failure_reason=None, created_at=now, updated_at=now,
        greet_first=draft.greet_first, voicemail=draft.voicemail, voice_provider=draft.voice_provider,
    )  # fmt: skip


async def test_call_task(pool: asyncpg.Pool, call_row: Call) -> Task:
    """The task a test call runs: the stored task, or a plan's draft."""
    if call_row.task_id is None:
        return draft_task(call_row)
    return await task_queries.get_task(pool, call_row.user_id, call_row.task_id)


async def run_test_call(
    pool: asyncpg.Pool, runner: Any, task: Task, call_row: Call, call: BrowserCall, max_s: float = TEST_CALL_MAX_S
) -> CallReport:
    """Run the agent against the browser until the call ends, store it, and tell the page why it ended.

    `runner`: VoiceAgentRunner. At `max_s` on the call's clock the agent wraps up politely and hangs up, as
    at a call's length limit (engine.agent.limits); `CUT_OFF_GRACE_S` later the test call is cut off anyway.
    """
    clock = call.clock
    started = clock.monotonic()
    await call_queries.mark_answered(pool, task.user_id, call_row.id, call.answered_at)
    session = await runner.prepare(task, call_row, call, clock=clock, max_call_s=max_s)
    cut_off = asyncio.create_task(_cut_off(call, max_s + CUT_OFF_GRACE_S), name=f"test-call-cut-off-{call.call_id}")
    try:
        report: CallReport = await session.run(call)
    finally:
        cut_off.cancel()
        await asyncio.gather(cut_off, return_exceptions=True)
        await session.aclose()
        call.ended("test call over")
    result = await call.finished()
    detail = _limit_reached(max_s) if clock.monotonic() - started >= max_s else result.detail
    log.info("test call %s over (%s): %d transcript turns", call_row.id, detail, len(report.transcript))
    await call_queries.finish_call(
        pool, task.user_id, call_row.id, outcome=result.outcome.value, ended_at=result.ended_at or clock.now(),
        hangup_by=report.hangup_by or result.hangup_by, detail=detail,
    )  # fmt: skip
    if report.metrics is not None:
        await call_queries.set_call_metrics(pool, task.user_id, call_row.id, metrics_as_json(report.metrics))
    await call.show_ended(detail)
    return report


def _limit_reached(max_s: float) -> str:
    limit = f"{max_s / 60:g}-minute" if max_s >= 60 else f"{max_s:g}-second"
    return f"it reached the {limit} limit of a test call; the agent wrapped up"


async def _cut_off(call: BrowserCall, after_s: float) -> None:
    """The wrap-up at the limit did not end the test call: end it."""
    await call.clock.sleep(after_s)
    call.ended(f"cut off {after_s:g} s in, past the limit of a test call")
