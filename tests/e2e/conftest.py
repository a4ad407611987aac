"""End-to-end fixtures: whole engine nodes, built by `engine.app.wiring.build_node`, on a database of their own.

A node here is what `opendeep serve` runs without an ARI URL or an OpenAI key:
real PostgreSQL, the ARI adapter against the in-process PBX simulator, the
OpenAI Realtime adapter against the fake Realtime server (over real
WebSockets), the HITL listener and the LifecycleManager dialling. The only
thing a test changes is what the fake model says (`RunningNode.script`).

The dialer claims every due task in its database, so each test copies a
migrated template database (`own_database_url`, tests/conftest.py) and drops it after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import RunningNode, start_node


@pytest.fixture
async def make_node(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    """`await make_node(**settings)` -> a started RunningNode; every node is stopped at teardown."""
    running: list[RunningNode] = []

    async def make(**settings: object) -> RunningNode:
        node = await start_node(own_database_url, tmp_path_factory.mktemp("node"), **settings)
        running.append(node)
        return node

    yield make
    for node in reversed(running):
        await node.stop()
