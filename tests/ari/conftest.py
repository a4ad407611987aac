from __future__ import annotations

import aiohttp
import pytest

from ari_apps.rest_client import AriRestClient
from ari_apps.simulator import PbxSimulator, SimulatorConfig

FAST = 0.05  # persona pauses and ring timeouts run at 1/20 of their nominal length


@pytest.fixture
async def sim():
    async with PbxSimulator(SimulatorConfig(time_scale=FAST)) as simulator:
        yield simulator


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def rest(sim, http) -> AriRestClient:
    return AriRestClient(sim.ari_url, sim.user, sim.password, http)
