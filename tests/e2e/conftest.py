"""End-to-end fixtures: whole engine nodes, built by `engine.wiring.build_node`, on a database of their own.

A node here is what `opendeep serve` runs without an ARI URL or an OpenAI key:
real PostgreSQL, the ARI adapter against the in-process PBX simulator, the
OpenAI Realtime adapter against the fake Realtime server (over real
WebSockets), the HITL listener and the LifecycleManager dialling. The only
thing a test changes is what the fake model says (`RunningNode.script`).

The dialer claims every due task in its database, so each test copies a
migrated template database (as tests/lifecycle does) and drops it after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.database import migrate
from tests.e2e.harness import RunningNode, start_node


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def e2e_template(server_url: str) -> AsyncIterator[str]:
    name = f"opendeep_e2e_tpl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await migrate(_with_database(server_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def e2e_database_url(server_url: str, e2e_template: str) -> AsyncIterator[str]:
    name = f"opendeep_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{e2e_template}"')
    try:
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def make_node(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    """`await make_node(**settings)` -> a started RunningNode; every node is stopped at teardown."""
    running: list[RunningNode] = []

    async def make(**settings: object) -> RunningNode:
        node = await start_node(e2e_database_url, tmp_path_factory.mktemp("node"), **settings)
        running.append(node)
        return node

    yield make
    for node in reversed(running):
        await node.stop()
