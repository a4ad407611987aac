"""The asyncpg connection pool, with JSON columns decoded to Python objects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from db.errors import DatabaseUnavailable
from db.models import Executor


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(url: str) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's (for LISTEN and for tools)."""
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    await _init_connection(conn)
    return conn


ACQUIRE_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 30.0


class TimedPool(asyncpg.Pool):
    """An asyncpg pool whose every acquire is bounded, also the implicit one of `pool.fetch(...)` & co.

    asyncpg waits for a free connection forever unless each `acquire()` passes a timeout; the
    query helpers (`pool.execute`, `pool.fetchrow`, ...) never do. With this pool an exhausted
    pool raises `TimeoutError` after `acquire_timeout_s`, which a queued writer retries, instead
    of blocking a call's work without bound. `command_timeout` bounds each statement once running.
    """

    def __init__(self, *args: Any, acquire_timeout_s: float = ACQUIRE_TIMEOUT_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout_s = acquire_timeout_s

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout_s if timeout is None else timeout)


async def create_pool(url: str, *, size: int = 10, acquire_timeout_s: float = ACQUIRE_TIMEOUT_S) -> asyncpg.Pool:
    pool = TimedPool(
        url, acquire_timeout_s=acquire_timeout_s, min_size=1, max_size=size, max_queries=50000,
        max_inactive_connection_lifetime=300.0, loop=None, connection_class=asyncpg.Connection,
        record_class=asyncpg.Record, init=_init_connection, command_timeout=COMMAND_TIMEOUT_S,
    )
    try:
        return await pool
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc


@asynccontextmanager
async def connection(conn: Executor) -> AsyncIterator[asyncpg.Connection]:
    """A connection taken from the pool for the block, or the connection given."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as acquired:
            yield acquired
    else:
        yield conn


@asynccontextmanager
async def transaction(conn: Executor) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on `connection(conn)` (a savepoint when the connection is already in one)."""
    async with connection(conn) as acquired, acquired.transaction():
        yield acquired
