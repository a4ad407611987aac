"""The dialer: claims due tasks for this node and runs one attempt task per claim.

One named loop claims (so claims of a node never overlap); it wakes on
`wake()` (the scheduler's ticks and date jobs, NOTIFYs from other nodes, an
attempt finishing). Each attempt runs in its own named task, kept in
`self._attempts` and cancelled on close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from db import dispatch, users
from db.models import Task
from engine.clock import Clock
from engine.lifecycle.attempt import AttemptResult, CallAttempt
from engine.lifecycle.policy import Allow, DialPolicy
from engine.lifecycle.recovery import recover_task
from engine.lifecycle.verdicts import apply_refusal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DialLimits:
    """How many calls this node places at once: in all, per user, per trunk (None: no trunk limit)."""

    max_concurrent_calls: int
    per_user: int
    per_trunk: int | None = None
    test_mode: bool = False  # every call goes to the test destination, one at a time


class Dialer:
    def __init__(self, pool: asyncpg.Pool, attempt: CallAttempt, limits: DialLimits, clock: Clock) -> None:
        self.pool = pool
        self.attempt = attempt
        self.node_id = attempt.options.node_id
        self.capacity = 1 if limits.test_mode else limits.max_concurrent_calls
        self.per_user_limit = limits.per_user
        self.trunk_limit = limits.per_trunk
        self.test_mode = limits.test_mode
        self.clock = clock
        # Hooks for whoever runs the dialer (the LifecycleManager sets them).
        self.on_attempt_done: Callable[[Task, AttemptResult | None], Awaitable[None]] | None = None
        self.after_pass: Callable[[], Awaitable[None]] | None = None  # e.g. plan a wake-up for the next due task
        self.claimed_total = 0
        self.last_error = ""
        self._wake = asyncio.Event()
        self._attempts: dict[UUID, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def policy(self) -> DialPolicy:
        return self.attempt.policy

    @property
    def active_task_ids(self) -> set[UUID]:
        return set(self._attempts)

    def wake(self) -> None:
        self._wake.set()

    def cancel_call(self, task_id: UUID) -> bool:
        """The task was cancelled: end its call if this node holds it (a NOTIFY told us)."""
        if task_id not in self._attempts:
            return False
        log.info("task %s was cancelled; ending its call", task_id)
        return self.attempt.cancel(task_id)

    def start(self) -> None:
        self._loop = asyncio.create_task(self._claim_loop(), name=f"dialer-{self.node_id}")
        self.wake()

    async def close(self) -> None:
        tasks = [t for t in [self._loop, *self._attempts.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None

    async def wait_idle(self) -> None:
        """Until no attempt is running (tests, benchmarks)."""
        await self._idle.wait()

    async def _claim_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.claim_and_dial()
                if self.after_pass is not None:
                    await self.after_pass()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next tick tries again; the error shows in status()
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("dispatch pass failed")

    async def claim_and_dial(self) -> list[Task]:
        """One pass: claim what this node may dial now and start an attempt for each."""
        free = self.capacity - len(self._attempts)
        if free <= 0:
            return []
        now = self.clock.now()
        async with self.pool.acquire() as conn:
            claimed = await dispatch.claim_due_tasks(
                conn, node_id=self.node_id, now=now, capacity=free, per_user_limit=self.per_user_limit,
                cluster_limit=self.trunk_limit,
            )
        self.claimed_total += len(claimed)
        for task in claimed:
            self._start_attempt(task)
        if len(claimed) == free:
            self.wake()  # there may be more due than we had room for; try again once calls end
        return claimed

    def _start_attempt(self, task: Task) -> None:
        self._idle.clear()
        runner = asyncio.create_task(self._attempt(task), name=f"attempt-{task.id}")
        self._attempts[task.id] = runner
        runner.add_done_callback(lambda _: self._attempt_ended(task.id))

    def _attempt_ended(self, task_id: UUID) -> None:
        self._attempts.pop(task_id, None)
        if not self._attempts:
            self._idle.set()
        self.wake()  # a slot is free

    async def _attempt(self, task: Task) -> None:
        result: AttemptResult | None = None
        try:
            refused = await self._refused_at_claim(task)
            result = AttemptResult(refused, None, None) if refused else await self.attempt.run(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("attempt of task %s failed", task.id)
            await recover_task(self.pool, task, reason=f"the attempt failed inside the engine ({exc})",
                               now=self.clock.now())
        if self.on_attempt_done is not None:
            try:
                await self.on_attempt_done(task, result)
            except Exception:
                log.exception("after-attempt hook failed for task %s", task.id)

    async def _refused_at_claim(self, task: Task) -> Task | None:
        """Claim-time policy: calling window, do-not-call, budget (the attempt checks again before dialling).

        The task as moved when the policy refuses, None when it may be dialled.
        """
        decision = await self.attempt.check_policy(task, await users.get_user(self.pool, task.user_id))
        if isinstance(decision, Allow):
            return None
        return await apply_refusal(self.pool, task, decision)

    def status(self) -> dict[str, Any]:
        return {
            "mode": "test" if self.test_mode else "live",
            "test_destination": self.policy.test_destination if self.test_mode else None,
            "active_calls": len(self._attempts),
            "capacity": self.capacity,
            "per_user_limit": self.per_user_limit,
            "trunk_limit": self.trunk_limit,
            "claimed_total": self.claimed_total,
            "last_error": self.last_error or None,
        }

    async def next_due_at(self) -> datetime | None:
        return await dispatch.next_due_at(self.pool)
