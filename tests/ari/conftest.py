from __future__ import annotations

import os
from dataclasses import dataclass

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


@pytest.fixture
def sink():
    from .fakes import RecordingSink

    return RecordingSink()


@dataclass
class Target:
    """Where the call scenarios run: the simulator, or a real Asterisk from the environment."""

    name: str
    ari_url: str
    user: str
    password: str
    app: str
    sim: PbxSimulator | None = None

    @property
    def scale(self) -> float:
        return FAST if self.sim else 1.0

    def endpoint(self, persona: str) -> str:
        return f"Local/s@callee-{persona}/n"


@pytest.fixture(params=["simulator", pytest.param("asterisk", marks=pytest.mark.real_asterisk)])
async def target(request):
    if request.param == "simulator":
        async with PbxSimulator(SimulatorConfig(time_scale=FAST)) as simulator:
            yield Target("simulator", simulator.ari_url, simulator.user, simulator.password, "opendeep", simulator)
        return
    url = os.environ.get("OPENDEEP_TEST_ARI_URL")
    if not url:
        pytest.skip("real Asterisk: set OPENDEEP_TEST_ARI_URL (+ _USER, _PASSWORD) to run these against one")
    yield Target(
        "asterisk",
        url,
        os.environ.get("OPENDEEP_TEST_ARI_USER", "opendeep"),
        os.environ.get("OPENDEEP_TEST_ARI_PASSWORD", ""),
        os.environ.get("OPENDEEP_TEST_ARI_APP", f"opendeep-test-{os.getpid()}"),
    )


@pytest.fixture
async def telephony(target, sink):
    from ari_apps.adapter import AriTelephony

    adapter = AriTelephony(
        ari_url=target.ari_url, user=target.user, password=target.password, app=target.app, sink=sink,
        mode="simulated" if target.sim else "asterisk",
    )  # fmt: skip
    await adapter.start()
    yield adapter
    await adapter.close()
