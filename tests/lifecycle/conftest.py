"""Lifecycle tests dial everything that is due, so each test gets a database of its own
(`own_database_url`, a copy of the migrated template from tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.pool import create_pool


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
