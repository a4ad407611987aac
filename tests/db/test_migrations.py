import asyncio

from db.database import migrate
from db.migrate import available_migrations
from db.pool import connect


async def test_applying_twice_is_a_no_op(fresh_database_url):
    url = await fresh_database_url()
    first = await migrate(url)
    assert first == [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    assert await migrate(url) == []
    conn = await connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(first)
    finally:
        await conn.close()


async def test_concurrent_appliers_apply_each_migration_once(fresh_database_url):
    url = await fresh_database_url()
    results = await asyncio.gather(*(migrate(url) for _ in range(4)))
    applied = [name for result in results for name in result]
    assert sorted(applied) == [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    conn = await connect(url)
    try:
        assert await conn.fetchval("SELECT to_regclass('tasks') IS NOT NULL")
    finally:
        await conn.close()
