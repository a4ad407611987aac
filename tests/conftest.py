"""Shared fixtures: a real PostgreSQL for the whole run.

With DATABASE_URL set, tests use that server; otherwise the embedded
PostgreSQL is started under var/test-pg (the same code path as the product).
Each run gets a fresh database, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.database import migrate, resolve_database_url
from db.pool import create_pool
from engine.app import event_loop

REPO = Path(__file__).resolve().parents[1]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """Every async test runs on the event loop the product runs on."""
    return {"loop": event_loop.new_event_loop}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def server_url() -> str:
    """URL of the PostgreSQL server the tests use (any database on it)."""
    url, _ = await resolve_database_url(os.environ.get("DATABASE_URL") or None, REPO / "var" / "test-pg")
    return url


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test run."""
    name = f"opendeep_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    try:
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def migrated_template(server_url: str) -> AsyncIterator[str]:
    """A migrated database to copy: made once per run, dropped at the end."""
    name = f"opendeep_tpl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await migrate(_with_database(server_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def own_database_url(server_url: str, migrated_template: str) -> AsyncIterator[str]:
    """A database of this test's own, copied from the template (for tests whose dialer claims
    every due task in its database)."""
    name = f"opendeep_own_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def fresh_database_url(server_url: str) -> AsyncIterator:
    """Factory for an empty (unmigrated) database, for migration tests."""
    admin = await asyncpg.connect(server_url)
    created: list[str] = []

    async def make() -> str:
        name = f"opendeep_empty_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(server_url, name)

    yield make
    for name in created:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def make_user(pool: asyncpg.Pool):
    """Create a user with a unique email; returns the User."""
    from db import users

    async def make(role: str = "user", time_zone: str = "UTC"):
        return await users.create_user(
            pool, email=f"u{uuid.uuid4().hex[:12]}@example.test", password_hash="x", role=role, time_zone=time_zone
        )

    return make
