"""Periodic lifecycle sweeps: lost attempts, overdue questions, reminders, strategy notes,
global do-not-call promotion, finished campaigns and expired web sessions.

Each sweep is safe to run on every node at once: the guarded transitions and
"once" queries make a second node's work a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from db import dispatch, dnd, events, hitl, sessions, sweeps, users
from engine.lifecycle.recovery import recover_task
from engine.tasks.calling_window import calling_window
from engine.tasks.campaigns import CampaignSummarizer, finish_if_done
from engine.tasks.strategy import StrategyAdvisor, write_strategy_note

log = logging.getLogger(__name__)


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
        recovered = 0
        for task in lost:
            if task.claimed_by == self.node_id:
                continue  # ours: the dialer concludes or recovers its own attempts
            node = task.claimed_by or "an unknown node"
            if await recover_task(self.pool, task, reason=f"engine node {node} stopped responding", now=now):
                recovered += 1
        return recovered

    async def recover_own(self, now: datetime, reason: str) -> int:
        """This node's leftovers (at start-up after a restart with the same id, or at shutdown)."""
        count = 0
        for task in await dispatch.orphaned_tasks(self.pool, stale_after_s=0, node_id=self.node_id):
            if await recover_task(self.pool, task, reason=reason, now=now):
                count += 1
        return count

    async def expire_questions(self, now: datetime) -> int:
        expired = await hitl.expire_overdue_requests(self.pool, now)
        for request in expired:
            await events.add_task_event(
                self.pool, request.user_id, request.task_id, kind="hitl_expired",
                message=f"Your answer did not come in time: {request.question}",
                data={"request_id": str(request.id)},
            )
        return len(expired)

    async def remind_waiting_owners(self, now: datetime) -> int:
        waiting = await sweeps.tasks_waiting_for_user_since(self.pool, now - self.reminder_after)
        for task in waiting:
            question = (task.context or {}).get("pending_question") or "a question about this task"
            await events.add_task_event(
                self.pool, task.user_id, task.id, kind="reminder",
                message=f"Reminder: this task waits for your answer to: {question}",
            )
        return len(waiting)

    async def write_strategy_notes(self, now: datetime) -> int:
        failing = await sweeps.tasks_failing_repeatedly(self.pool, self.strategy_after_attempts)
        for task in failing:
            user = await users.get_user(self.pool, task.user_id)
            window = calling_window(task, user, default_start=self.window_start, default_end=self.window_end)
            await write_strategy_note(self.pool, task, user, window, self.advisor)
        return len(failing)

    async def promote_global_dnd(self, now: datetime) -> int:
        promoted = await dnd.promote_to_global(self.pool, self.global_dnd_threshold)
        for number in promoted:
            log.info("%s joined the global do-not-call list", number)
        return len(promoted)

    async def finish_campaigns(self, now: datetime) -> int:
        finished = 0
        for user_id, campaign_id in await sweeps.campaigns_ready_to_finish(self.pool):
            if await finish_if_done(self.pool, user_id, campaign_id, self.summarizer):
                finished += 1
        return finished

    async def purge_expired_sessions(self, now: datetime) -> int:
        """Web sign-in sessions past their expiry: no longer valid, and the table would only grow."""
        return await sessions.purge_expired_sessions(self.pool, now)
