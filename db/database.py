"""Opening the database: the embedded server when no URL is given, migrations, the pool."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from db.embedded import start_embedded_postgres
from db.migrate import apply_migrations
from db.pool import ACQUIRE_TIMEOUT_S, connect, create_pool

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Database:
    url: str
    pool: asyncpg.Pool
    embedded: bool

    async def close(self) -> None:
        await self.pool.close()


async def resolve_database_url(url: str | None, data_dir: Path) -> tuple[str, bool]:
    """The URL to use, starting the embedded PostgreSQL when `url` is None."""
    if url:
        return url, False
    embedded = await asyncio.to_thread(start_embedded_postgres, data_dir)
    log.info("using the embedded PostgreSQL in %s", embedded.data_dir)
    return embedded.url, True


async def migrate(url: str) -> list[str]:
    conn = await connect(url)
    try:
        return [f"{m.version:04d}_{m.name}" for m in await apply_migrations(conn)]
    finally:
        await conn.close()


async def open_database(
    url: str | None, data_dir: Path, *, pool_size: int = 10, acquire_timeout_s: float = ACQUIRE_TIMEOUT_S
) -> Database:
    resolved, embedded = await resolve_database_url(url, data_dir)
    await migrate(resolved)
    pool = await create_pool(resolved, size=pool_size, acquire_timeout_s=acquire_timeout_s)
    return Database(url=resolved, pool=pool, embedded=embedded)
