"""A running engine node for end-to-end tests, and ways to wait on what it does.

Waiting is on conditions: every task transition, call, transcript turn and
HITL change is published on the events channel (LISTEN/NOTIFY), so a waiter
re-checks the database whenever a notification arrives, under a timeout.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from ari_apps.simulator.server import PbxSimulator
from db import calls, tasks, users
from db.models import Call, Task, User
from db.notify import CHANNEL
from db.pool import connect
from db.tasks import TaskDraft
from engine.app.node import Node
from engine.app.wiring import build_node
from engine.lifecycle.call_log import DatabaseCallLog
from engine.settings import Settings
from engine.voice.simulator.script import Responder
from engine.voice.simulator.server import RealtimeSimulator

T = TypeVar("T")

TALKER = "+12025550101"
BUSY = "+12025550102"
NO_ANSWER = "+12025550104"
IVR = "+12025550109"
DTMF = "+12025550112"

FINAL = ("succeeded", "failed", "cancelled", "blocked_dnd")
SETTLED = (*FINAL, "retry_scheduled", "pending_user_info")  # where one attempt leaves a task


def always_open() -> dict[str, Any]:
    """Task constraints that allow a call at any hour, so no test depends on the time of day."""
    return {"window": {"start": "00:00", "end": "24:00"}}


class NotificationTap:
    """Counts notifications on the events channel so waiters can re-check on each one."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    def on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.seen.append(json.loads(payload))
        self.changed.set()

    async def until(self, check: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
        """Re-run `check` on every notification until it returns something truthy."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self.changed.clear()
                    found = await check()
                    if found:
                        return found
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


@dataclass
class RunningNode:
    node: Node
    tap: NotificationTap
    listener: asyncpg.Connection
    _stopped: bool = field(default=False)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.node.database.pool

    @property
    def pbx(self) -> PbxSimulator:
        return self.node.telephony.simulator  # type: ignore[union-attr]

    @property
    def model(self) -> RealtimeSimulator:
        return self.node.voice.simulator  # type: ignore[union-attr]

    @property
    def call_log(self) -> DatabaseCallLog:
        return next(c for c in self.node.components if isinstance(c, DatabaseCallLog))

    def script(self, responder: Responder, *, idle_timeout_s: float | None = None) -> None:
        """What the fake Realtime model says from now on (serve mode speaks up after 6 s of silence;
        scripted tests switch that off unless they ask for it)."""
        self.model.responder = responder
        self.model.idle_timeout_s = idle_timeout_s

    async def user(self, name: str = "Ada") -> User:
        return await users.create_user(
            self.pool, email=f"e2e-{uuid.uuid4().hex[:10]}@example.test", password_hash="x",
            display_name=name, time_zone="UTC",
        )

    async def schedule(self, user: User, number: str, objective: str, **draft: Any) -> Task:
        draft.setdefault("constraints", always_open())
        return await tasks.create_task(
            self.pool, user.id, TaskDraft(phone_number=number, objective=objective, **draft),
            schedule_at=datetime.now(UTC),
        )

    async def wait_for_task(self, task: Task, statuses: tuple[str, ...] = SETTLED, timeout: float = 30.0,
                            after_calls: int = 0) -> Task:
        """The task once it is in one of `statuses` (with more than `after_calls` calls made)."""

        async def check() -> Task | None:
            current = await tasks.get_task(self.pool, task.user_id, task.id)
            if current.status not in statuses:
                return None
            if after_calls and len(await self.calls_of(current)) <= after_calls:
                return None
            return current

        return await self.tap.until(check, timeout, f"task {task.id} to reach {'/'.join(statuses)}")

    async def calls_of(self, task: Task) -> list[Call]:
        return sorted(await calls.list_calls(self.pool, task.user_id, task_id=task.id), key=lambda c: c.attempt)

    async def settle(self) -> None:
        """Everything the call log queued is in the database."""
        await self.call_log.flush()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            await self.listener.close()
        finally:
            await self.node.stop()


async def start_node(database_url: str, data_dir: Path, **overrides: Any) -> RunningNode:
    options: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "openai_api_key": None,
        "node_id": f"e2e-{uuid.uuid4().hex[:6]}",
        "calling_window_start": "00:00",
        "calling_window_end": "24:00",
        "ring_timeout_s": 5,
        "db_pool_size": 5,
        "log_level": "WARNING",
        **overrides,
    }
    settings = Settings(_env_file=None, **options)
    node = await build_node(settings)
    tap = NotificationTap()
    listener = await connect(node.database.url)
    try:
        await listener.add_listener(CHANNEL, tap.on_notification)
        await node.start()
    except BaseException:
        await listener.close()
        await node.stop()
        raise
    return RunningNode(node, tap, listener)
