"""Lifecycle tests dial everything that is due, so each test gets a database of its own.

A migrated template is made once per run; each test copies it (fast) and drops it after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.database import migrate
from db.pool import create_pool


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def lifecycle_template(server_url: str) -> AsyncIterator[str]:
    name = f"opendeep_lc_tpl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await migrate(_with_database(server_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def own_database_url(server_url: str, lifecycle_template: str) -> AsyncIterator[str]:
    name = f"opendeep_lc_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{lifecycle_template}"')
    try:
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db(own_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(own_database_url, size=5)
    yield pool
    await pool.close()


@pytest.fixture
def new_user(db: asyncpg.Pool):
    from db import users

    async def make(time_zone: str = "UTC", profile: dict | None = None):
        user = await users.create_user(
            db, email=f"u{uuid.uuid4().hex[:12]}@example.test", password_hash="x", time_zone=time_zone
        )
        if profile:
            user = await users.update_profile(db, user.id, display_name="", time_zone=time_zone, profile=profile)
        return user

    return make
