"""One LISTEN connection per engine node that wakes whoever waits for a HITL request.

The owner may answer on any node: the web app there calls `answer_question`, the row
changes and PostgreSQL NOTIFYs every node. This component holds the node's single
listening connection (not a pooled one: LISTEN belongs to a session) and wakes the
`Watch` of the request the notification names. It carries no data a waiter relies on:
a woken waiter re-reads the row. When the connection drops, one supervised task
reconnects with backoff and then wakes *every* watch, so each waiter re-reads its
request and an answer given while the node was deaf is not lost.

Lifecycle: `await listener.start()` (connects once, raises if the database is
unreachable), `await listener.close()` (cancels the task, closes the connection).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import asyncpg

from db.notify import CHANNEL
from db.pool import connect as connect_url

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class Watch:
    """Set whenever the watched request may have changed; the waiter clears it, re-reads, waits."""

    def __init__(self, request_id: UUID) -> None:
        self.request_id = request_id
        self.last_status: str | None = None
        self._event = asyncio.Event()

    def wake(self, status: str | None = None) -> None:
        if status is not None:
            self.last_status = status
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        await self._event.wait()


class HitlListener:
    def __init__(
        self,
        connect: Connect,
        *,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 10.0,
        ping_every_s: float = 15.0,
        name: str = "hitl-listener",
    ) -> None:
        self._connect = connect
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._ping_every_s = ping_every_s
        self._name = name
        self._watches: dict[UUID, set[Watch]] = {}
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connections = 0  # how many times LISTEN was (re)established

    @classmethod
    def for_url(cls, url: str, **options: Any) -> HitlListener:
        return cls(lambda: connect_url(url), **options)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the HITL listener is already started")
        await self._listen(await self._connect())
        self._task = asyncio.create_task(self._supervise(), name=self._name)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await self._drop_connection()
        self._wake_all()  # waiters re-read the database themselves; nobody hangs on us

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    # --- waiting --------------------------------------------------------------------------

    @contextmanager
    def watch(self, request_id: UUID) -> Iterator[Watch]:
        watch = Watch(request_id)
        self._watches.setdefault(request_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(request_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[request_id]

    @property
    def watched(self) -> frozenset[UUID]:
        return frozenset(self._watches)

    # --- the connection -------------------------------------------------------------------

    async def _listen(self, conn: asyncpg.Connection) -> None:
        self._lost.clear()
        conn.add_termination_listener(self._on_terminated)
        try:
            await conn.add_listener(CHANNEL, self._on_notification)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self.connections += 1
        self._connected.set()
        log.info("HITL listener: listening on %s (connection %d)", CHANNEL, self.connections)

    async def _supervise(self) -> None:
        while True:
            await self._until_lost()
            self._connected.clear()
            await self._drop_connection()
            log.warning("HITL listener: connection lost; reconnecting")
            await self._reconnect()
            self._wake_all()  # answers given while we were deaf: every waiter re-reads its row

    async def _until_lost(self) -> None:
        while not self._lost.is_set():
            try:
                async with asyncio.timeout(self._ping_every_s):
                    await self._lost.wait()
            except TimeoutError:
                if not await self._ping():
                    return

    async def _ping(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=self._ping_every_s)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True

    async def _reconnect(self) -> None:
        delay = self._retry_delay_s
        while True:
            try:
                await self._listen(await self._connect())
                return
            except Exception as exc:  # network and database errors, DatabaseUnavailable from db.pool.connect
                log.warning("HITL listener: reconnect failed (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_delay_s)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._connected.clear()
        if conn is None:
            return
        conn.remove_termination_listener(self._on_terminated)
        if not conn.is_closed():
            try:
                async with asyncio.timeout(2):
                    await conn.close()
            except Exception:  # noqa: BLE001 - a dead connection is what we are dropping
                conn.terminate()

    def _on_terminated(self, conn: asyncpg.Connection) -> None:
        if conn is self._conn:
            self._lost.set()

    def _on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message.get("kind") != "hitl":
                return
            request_id = UUID(message["request_id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.debug("HITL listener: ignoring payload %r", payload)
            return
        for watch in self._watches.get(request_id, ()):
            watch.wake(message.get("status"))

    def _wake_all(self) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.wake()
