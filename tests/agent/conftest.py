"""`provider`: the voice-model providers the agent's end-to-end tests run against (each through its
real adapter, the SDK and its simulator over a real WebSocket)."""

from __future__ import annotations

import pytest

from tests.agent.rig import PROVIDERS


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)
