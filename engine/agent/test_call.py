"""One test call: the task's agent (same profile, instructions, tools, greeting) with the owner's
browser as the callee (`BrowserCall`). Stored like a call, marked as a test (`calls.is_test`), with
its transcript, timeline and metrics; the task's status and attempts are never touched. A test
call ends when the page leaves, the agent hangs up, or after `max_s` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from db import calls as call_queries
from db.models import Call, Task
from engine.agent.browser_call import BrowserCall
from engine.ports.agent import CallReport, metrics_as_json

log = logging.getLogger(__name__)

TEST_CALLS_PER_DAY = 20  # per user
TEST_CALL_MAX_S = 300


class TestCallRefused(Exception):
    """The user may not start a test call now (the message says why)."""


async def open_test_call(pool: asyncpg.Pool, task: Task, node_id: str, per_day: int = TEST_CALLS_PER_DAY) -> Call:
    """Create the test call's row, within the user's daily allowance."""
    since = datetime.now(UTC) - timedelta(days=1)
    if await call_queries.count_test_calls_since(pool, task.user_id, since) >= per_day:
        raise TestCallRefused(f"You have made {per_day} test calls in the last 24 hours; try again later.")
    return await call_queries.create_call(
        pool, task.user_id, task.id, attempt=1, node_id=node_id, destination="browser", is_test=True
    )


async def run_test_call(
    pool: asyncpg.Pool, runner: Any, task: Task, call_row: Call, call: BrowserCall, max_s: float = TEST_CALL_MAX_S
) -> CallReport:
    """Run the agent against the browser until the call ends, then store it. `runner`: VoiceAgentRunner."""
    await call_queries.mark_answered(pool, task.user_id, call_row.id, call.answered_at)
    limit = asyncio.get_running_loop().call_later(max_s, call.ended, f"test call limit of {max_s:.0f} s reached")
    session = await runner.prepare(task, call_row, call)
    try:
        report: CallReport = await session.run(call)
    finally:
        limit.cancel()
        await session.aclose()
        call.ended("test call over")
    result = await call.finished()
    log.info("test call %s over: %d transcript turns", call_row.id, len(report.transcript))
    await call_queries.finish_call(
        pool, task.user_id, call_row.id, outcome=result.outcome.value, ended_at=result.ended_at or datetime.now(UTC),
        hangup_by=report.hangup_by or result.hangup_by, detail=f"test call: {result.detail}",
    )  # fmt: skip
    if report.metrics is not None:
        await call_queries.set_call_metrics(pool, task.user_id, call_row.id, metrics_as_json(report.metrics))
    return report
