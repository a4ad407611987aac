"""Live updates: one LISTEN connection per node, fanned out to each user's open tabs.

Every NOTIFY on `opendeep_events` carries `kind` and `user_id`; the hub hands
the payload to the queues of that user's subscribers only. A lost connection
is re-opened with backoff by the hub's one supervisor task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from db.notify import CHANNEL
from db.pool import connect

log = logging.getLogger(__name__)

QUEUE_LIMIT = 100  # a tab that stops reading loses updates, never the node's memory


class LiveHub:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._subscribers: dict[int, set[asyncio.Queue[dict[str, Any] | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for queues in self._subscribers.values():
            for queue in queues:
                _offer(queue, None)  # ends the streams

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.setdefault(user_id, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._subscribers.get(user_id, set())
            queues.discard(queue)
            if not queues:
                self._subscribers.pop(user_id, None)

    def dispatch(self, payload: str) -> None:
        """Route one NOTIFY payload to its user's subscribers."""
        try:
            event = json.loads(payload)
            user_id = int(event["user_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed %s payload: %.200s", CHANNEL, payload)
            return
        for queue in self._subscribers.get(user_id, ()):
            _offer(queue, event)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self._url)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c: lost.set())
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: self.dispatch(payload))
                self.connected.set()
                delay = 0.5
                await lost.wait()
                log.warning("the live-update connection was lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live updates unavailable (%s); retrying in %.1fs", exc, delay)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(delay)  # backoff between reconnects
            delay = min(delay * 2, 30.0)


def _offer(queue: asyncio.Queue[Any], item: Any) -> None:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        pass
