"""Periodic lifecycle sweeps: lost attempts, overdue questions, reminders, strategy notes,
global do-not-call promotion, finished campaigns and expired web sessions.

Each sweep is safe to run on every node at once: the guarded transitions and
"once" queries make a second node's work a no-op. Rows are processed one by one:
a row that fails is counted (`opendeep_sweep_row_failures_total`), logged once
per node (not on every pass) and skipped; the other rows go on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from db import dispatch, dnd, events, hitl, login_failures, sessions, sweeps, users
from engine import metrics
from engine.lifecycle.recovery import recover_task
from engine.tasks.calling_window import calling_window
from engine.tasks.campaigns import CampaignSummarizer, finish_if_done
from engine.tasks.strategy import StrategyAdvisor, write_strategy_note

log = logging.getLogger(__name__)
LOGIN_FAILURES_KEPT = timedelta(days=1)  # longer than any sign-in throttle window (engine.accounts)
Row = TypeVar("Row")
_LOGGED_ROWS_LIMIT = 10_000  # failing rows remembered per node, so the memory stays bounded


@dataclass
class RowGuard:
    """Runs one sweep's rows one by one; a failing row is counted, logged once and skipped."""

    logged: set[tuple[str, Hashable]] = field(default_factory=set)

    async def each(self, sweep: str, rows: Iterable[Row], key: Callable[[Row], Hashable],
                   step: Callable[[Row], Awaitable[Any]]) -> int:
        """How many rows `step` handled (returned something truthy) without raising."""
        done = 0
        for row in rows:
            try:
                result = await step(row)
            except Exception as exc:
                metrics.SWEEP_ROW_FAILURES.labels(sweep=sweep).inc()
                self._report(sweep, key(row), exc)
                continue
            self.logged.discard((sweep, key(row)))
            if result is None or result:
                done += 1
        return done

    def _report(self, sweep: str, row: Hashable, exc: Exception) -> None:
        if (sweep, row) in self.logged:
            log.debug("sweep %s: %s still fails: %s", sweep, row, exc)
            return
        if len(self.logged) >= _LOGGED_ROWS_LIMIT:
            self.logged.clear()
        self.logged.add((sweep, row))
        log.warning("sweep %s skipped %s (logged once; it is retried and counted on every pass): %s: %s",
                    sweep, row, type(exc).__name__, exc, exc_info=not isinstance(exc, ValueError))


@dataclass
class LifecycleSweeps:
    pool: asyncpg.Pool
    node_id: str
    stale_after_s: float = 30.0
    reminder_after: timedelta = timedelta(hours=24)
    strategy_after_attempts: int = 3
    global_dnd_threshold: int = 3
    window_start: str = "09:00"
    window_end: str = "20:00"
    advisor: StrategyAdvisor = field(default_factory=StrategyAdvisor)
    summarizer: CampaignSummarizer = field(default_factory=CampaignSummarizer)
    rows: RowGuard = field(default_factory=RowGuard)

    async def run_all(self, now: datetime) -> dict[str, int]:
        """Every sweep once; one failing sweep does not stop the others."""
        done: dict[str, int] = {}
        steps: dict[str, Callable[[datetime], Awaitable[int]]] = {
            "recovered": self.recover_lost_attempts,
            "questions_expired": self.expire_questions,
            "reminders": self.remind_waiting_owners,
            "strategy_notes": self.write_strategy_notes,
            "dnd_promoted": self.promote_global_dnd,
            "campaigns_finished": self.finish_campaigns,
            "sessions_purged": self.purge_expired_sessions,
            "login_failures_purged": self.purge_old_login_failures,
        }
        for name, step in steps.items():
            try:
                done[name] = await step(now)
            except Exception:
                log.exception("sweep %s failed", name)
                done[name] = -1
        return done

    async def recover_lost_attempts(self, now: datetime) -> int:
        """Tasks dialing or in a call for a node that stopped heartbeating."""
        lost = await dispatch.orphaned_tasks(self.pool, stale_after_s=self.stale_after_s)
        theirs = [task for task in lost if task.claimed_by != self.node_id]  # ours: the dialer concludes them

        async def recover(task: Any) -> bool:
            node = task.claimed_by or "an unknown node"
            return await recover_task(self.pool, task, reason=f"engine node {node} stopped responding", now=now)

        return await self.rows.each("recovered", theirs, _task_key, recover)

    async def recover_own(self, now: datetime, reason: str) -> int:
        """This node's leftovers (at start-up after a restart with the same id, or at shutdown)."""
        own = await dispatch.orphaned_tasks(self.pool, stale_after_s=0, node_id=self.node_id)

        async def recover(task: Any) -> bool:
            return await recover_task(self.pool, task, reason=reason, now=now)

        return await self.rows.each("recovered_own", own, _task_key, recover)

    async def expire_questions(self, now: datetime) -> int:
        expired = await hitl.expire_overdue_requests(self.pool, now)

        async def note(request: Any) -> None:
            await events.add_task_event(
                self.pool, request.user_id, request.task_id, kind="hitl_expired",
                message=f"Your answer did not come in time: {request.question}",
                data={"request_id": str(request.id)},
            )

        return await self.rows.each("questions_expired", expired, lambda r: f"question {r.id}", note)

    async def remind_waiting_owners(self, now: datetime) -> int:
        waiting = await sweeps.tasks_waiting_for_user_since(self.pool, now - self.reminder_after)

        async def remind(task: Any) -> None:
            question = (task.context or {}).get("pending_question") or "a question about this task"
            await events.add_task_event(
                self.pool, task.user_id, task.id, kind="reminder",
                message=f"Reminder: this task waits for your answer to: {str(question)[:1000]}",
            )

        return await self.rows.each("reminders", waiting, _task_key, remind)

    async def write_strategy_notes(self, now: datetime) -> int:
        failing = await sweeps.tasks_failing_repeatedly(self.pool, self.strategy_after_attempts)

        async def note(task: Any) -> None:
            user = await users.get_user(self.pool, task.user_id)
            window = calling_window(task, user, default_start=self.window_start, default_end=self.window_end)
            await write_strategy_note(self.pool, task, user, window, self.advisor)

        return await self.rows.each("strategy_notes", failing, _task_key, note)

    async def promote_global_dnd(self, now: datetime) -> int:
        promoted = await dnd.promote_to_global(self.pool, self.global_dnd_threshold)
        for number in promoted:
            log.info("%s joined the global do-not-call list", number)
        return len(promoted)  # one statement: nothing per row to isolate

    async def finish_campaigns(self, now: datetime) -> int:
        ready = await sweeps.campaigns_ready_to_finish(self.pool)

        async def finish(row: tuple[int, Any]) -> bool:
            return await finish_if_done(self.pool, row[0], row[1], self.summarizer) is not None

        return await self.rows.each("campaigns_finished", ready, lambda r: f"campaign {r[1]}", finish)

    async def purge_expired_sessions(self, now: datetime) -> int:
        """Web sign-in sessions past their expiry: no longer valid, and the table would only grow."""
        return await sessions.purge_expired_sessions(self.pool, now)

    async def purge_old_login_failures(self, now: datetime) -> int:
        """Failed sign-ins older than any throttle window: they no longer slow anyone down."""
        return await login_failures.purge_old(self.pool, now - LOGIN_FAILURES_KEPT)


def _task_key(task: Any) -> str:
    return f"task {task.id} (user {task.user_id})"
