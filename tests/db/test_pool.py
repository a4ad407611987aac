"""The pool: its size follows the node's concurrency, and no acquire waits without bound."""

from __future__ import annotations

import pytest

from db.pool import create_pool
from engine.settings import DB_POOL_MARGIN, Settings


def test_the_pool_follows_the_concurrency_unless_set() -> None:
    assert Settings(_env_file=None, max_concurrent_calls=20).effective_db_pool_size == 20 + DB_POOL_MARGIN
    assert Settings(_env_file=None, max_concurrent_calls=200).effective_db_pool_size == 200 + DB_POOL_MARGIN
    assert Settings(_env_file=None, max_concurrent_calls=200, db_pool_size=40).effective_db_pool_size == 40


async def test_an_exhausted_pool_raises_instead_of_waiting_forever(database_url: str) -> None:
    pool = await create_pool(database_url, size=1, acquire_timeout_s=0.2)
    try:
        async with pool.acquire() as held:
            assert await held.fetchval("SELECT 1") == 1
            with pytest.raises(TimeoutError):
                await pool.fetchval("SELECT 1")  # the query helpers acquire implicitly: bounded too
        assert await pool.fetchval("SELECT 2") == 2  # free again
    finally:
        await pool.close()
