"""The asyncpg connection pool, with JSON columns decoded to Python objects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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


async def create_pool(url: str, *, size: int = 10) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(
            url, min_size=1, max_size=size, init=_init_connection, command_timeout=30
        )
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
