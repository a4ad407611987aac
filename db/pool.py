"""The asyncpg connection pool, with JSON columns decoded to Python objects."""

from __future__ import annotations

import json

import asyncpg

from db.errors import DatabaseUnavailable


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
