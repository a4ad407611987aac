"""Shared pieces of the HITL tests: a task on a live call, a NOTIFY tap, two engine nodes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from db import calls, tasks
from db.models import Call, Task, TaskStatus
from db.notify import CHANNEL
from db.pool import connect, create_pool
from db.tasks import TaskDraft
from engine.hitl.listener import HitlListener


@dataclass
class LiveCall:
    user_id: int
    task: Task
    call: Call


async def task_on_a_call(pool: asyncpg.Pool, user_id: int, *, status: TaskStatus = TaskStatus.IN_CALL) -> LiveCall:
    task = await tasks.create_task(
        pool, user_id, TaskDraft(phone_number="+4930123456", objective="Move the cleaning to a Tuesday afternoon")
    )
    # Put it there directly: these tests are about what happens during and after the call.
    await pool.execute("UPDATE tasks SET status = $2 WHERE id = $1", task.id, status.value)
    call = await calls.create_call(pool, user_id, task.id, attempt=1, node_id="node-a", destination=task.phone_number)
    return LiveCall(user_id, await tasks.get_task(pool, user_id, task.id), call)


class NotificationTap:
    """Every payload on the events channel, for tests to wait on (instead of sleeping)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.seen.append(json.loads(payload))
        self._changed.set()

    async def wait(self, timeout: float = 5.0, **fields: str) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                found = next((p for p in self.seen if all(p.get(k) == v for k, v in fields.items())), None)
                if found is not None:
                    return found
                self._changed.clear()
                await self._changed.wait()

    async def question_asked(self, task_id: UUID, timeout: float = 5.0, nth: int = 1) -> UUID:
        async with asyncio.timeout(timeout):
            while True:
                opened = [
                    p for p in self.seen if p.get("kind") == "hitl" and p.get("task_id") == str(task_id)
                    and p.get("status") == "open"
                ]
                if len(opened) >= nth:
                    return UUID(opened[nth - 1]["request_id"])
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def notification_tap(url: str) -> AsyncIterator[NotificationTap]:
    conn = await connect(url)
    tap = NotificationTap()
    await conn.add_listener(CHANNEL, tap.on_notification)
    try:
        yield tap
    finally:
        await conn.close()


@dataclass
class EngineNode:
    """What one engine node brings to HITL: its own pool and its own listener."""

    name: str
    pool: asyncpg.Pool
    listener: HitlListener


@asynccontextmanager
async def engine_node(url: str, name: str, **listener_options: Any) -> AsyncIterator[EngineNode]:
    pool = await create_pool(url, size=3)
    listener = HitlListener.for_url(url, name=f"hitl-listener-{name}", **listener_options)
    await listener.start()
    try:
        yield EngineNode(name, pool, listener)
    finally:
        await listener.close()
        await pool.close()
