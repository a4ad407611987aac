"""The lifecycle component a Node runs: APScheduler owns time, the database owns truth.

Scheduler jobs only wake named loops owned here: an interval tick and date jobs
(at the earliest `next_attempt_at`) wake the dialer, other intervals wake the
heartbeat and the sweeps. A LISTEN connection wakes the dialer when another
node or the web app schedules a task. `close()` stops the scheduler, cancels
every loop and attempt, recovers this node's unfinished tasks and unregisters
the node.

It is given its parts already built (`engine.lifecycle.build`): the dialer (None,
with the reason, when this node does not dial), the sweeps and the campaign
summarizer; it hooks itself into the dialer to plan wake-ups and finish campaigns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from db import dispatch
from db.notify import CHANNEL
from db.pool import connect
from engine.clock import Clock
from engine.lifecycle.dialer import Dialer
from engine.lifecycle.sweeps import LifecycleSweeps
from engine.ports.telephony import ComponentStatus
from engine.tasks.campaigns import CampaignSummarizer, finish_if_done

log = logging.getLogger(__name__)
WAITING = {"scheduled", "retry_scheduled"}


@dataclass(frozen=True, slots=True)
class ManagerOptions:
    """This node's id and mode, how often each job wakes, and where to LISTEN (None: no NOTIFY wake-ups)."""

    node_id: str
    test_mode: bool = False
    dispatch_interval_s: float = 1.0
    sweep_interval_s: float = 15.0
    heartbeat_interval_s: float = 5.0
    database_url: str | None = None


class LifecycleManager:
    def __init__(
        self,
        pool: asyncpg.Pool,
        dialer: Dialer | None,
        sweeps: LifecycleSweeps,
        summarizer: CampaignSummarizer,
        clock: Clock,
        options: ManagerOptions,
        *,
        why_not_dialling: str = "",  # shown in status() when there is no dialer
    ) -> None:
        self.pool = pool
        self.dialer = dialer
        self.sweeps = sweeps
        self.summarizer = summarizer
        self.clock = clock
        self.options = options
        self.node_id = options.node_id
        self.why_not_dialling = why_not_dialling
        if dialer is not None:
            dialer.on_attempt_done = self._after_attempt
            dialer.after_pass = self._plan_next_due
        self.last_sweep: dict[str, int] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._sweep_due = asyncio.Event()
        self._heartbeat_due = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._planned_due: datetime | None = None

    # --- lifetime ------------------------------------------------------------

    async def start(self) -> None:
        await dispatch.heartbeat(self.pool, self.node_id, self._node_info())
        recovered = await self.sweeps.recover_own(self.clock.now(), "this engine node restarted")
        if recovered:
            log.warning("recovered %d task(s) left by an earlier run of node %s", recovered, self.node_id)
        self._scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "misfire_grace_time": 30})
        every = self.options
        self._scheduler.add_job(self._wake_dialer, "interval", seconds=every.dispatch_interval_s, id="dispatch")
        self._scheduler.add_job(self._wake(self._heartbeat_due), "interval", seconds=every.heartbeat_interval_s,
                                id="heartbeat")
        self._scheduler.add_job(self._wake(self._sweep_due), "interval", seconds=every.sweep_interval_s, id="sweeps")
        self._scheduler.start()
        self._loops = [
            asyncio.create_task(self._run_on(self._heartbeat_due, self._heartbeat), name=f"heartbeat-{self.node_id}"),
            asyncio.create_task(self._run_on(self._sweep_due, self._sweep), name=f"sweeps-{self.node_id}"),
        ]
        if self.options.database_url:
            self._listener = await connect(self.options.database_url)
            await self._listener.add_listener(CHANNEL, self._on_notify)
        if self.dialer is not None:
            self.dialer.start()
        self._sweep_due.set()

    async def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        if self.dialer is not None:
            await self.dialer.close()
        await self.sweeps.recover_own(self.clock.now(), "this engine node shut down")
        await dispatch.remove_node(self.pool, self.node_id)

    async def status(self) -> ComponentStatus:
        details: dict[str, Any] = {"node": self.node_id, "last_sweep": self.last_sweep}
        if self.dialer is None:
            return ComponentStatus(ok=True, mode="not dialling", reason=self.why_not_dialling, details=details)
        details.update(self.dialer.status())
        return ComponentStatus(ok=True, mode=details["mode"], details=details)

    # --- wake-ups ---------------------------------------------------------------

    @staticmethod
    def _wake(event: asyncio.Event) -> Callable[[], Awaitable[None]]:
        async def wake() -> None:  # a coroutine job runs on the loop (a plain one would run in a thread)
            event.set()

        return wake

    async def _wake_dialer(self) -> None:
        if self.dialer is not None:
            self.dialer.wake()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if message.get("kind") != "task" or self.dialer is None:
            return
        if message.get("status") in WAITING:
            self.dialer.wake()
        elif message.get("status") == "cancelled" and message.get("task_id"):
            self.dialer.cancel_call(UUID(message["task_id"]))  # the node holding the call ends it

    async def _plan_next_due(self) -> None:
        """A date job at the earliest waiting task's time, when it comes before the next tick."""
        due = await dispatch.next_due_at(self.pool)
        now = self.clock.now()
        if due is None or due <= now or due >= now + timedelta(seconds=self.options.dispatch_interval_s):
            return
        if self._scheduler is not None and due != self._planned_due:
            self._planned_due = due
            self._scheduler.add_job(self._wake_dialer, "date", run_date=due, id="next-due", replace_existing=True)

    # --- loops ----------------------------------------------------------------

    async def _run_on(self, event: asyncio.Event, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await event.wait()
            event.clear()
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", work.__name__)

    async def _heartbeat(self) -> None:
        await dispatch.heartbeat(self.pool, self.node_id, self._node_info())

    async def _sweep(self) -> None:
        self.last_sweep = await self.sweeps.run_all(self.clock.now())

    async def _after_attempt(self, task: Any, result: Any) -> None:
        final = result is not None and result.task.status in ("succeeded", "failed", "cancelled", "blocked_dnd")
        if final and task.campaign_id is not None:
            await finish_if_done(self.pool, task.user_id, task.campaign_id, self.summarizer)

    def _node_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"mode": "test" if self.options.test_mode else "live"}
        if self.dialer is not None:
            info["active_calls"] = len(self.dialer.active_task_ids)
        return info

