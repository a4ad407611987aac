from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import aiohttp
import pytest

from ari_apps.rest_client import AriRestClient
from ari_apps.simulator import PbxSimulator, SimulatorConfig

from .fakes import RecordingSink
from .telephony import ari_telephony

_APP_SERIAL = itertools.count(1)
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

    async def callee_hangup(self, rest: AriRestClient, call_id: str) -> None:
        """The callee hangs up (on Asterisk: the Local ;2 half is hung up, which takes ;1 with it)."""
        if self.sim:
            await self.sim.callee_hangup(call_id)
        else:
            await rest.hangup(f"{call_id}-callee")


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
        # One app name per test: Asterisk unregisters a closed socket's app asynchronously, by
        # name, and the next test's adapter registering the same name meanwhile was left deaf.
        f"{os.environ.get('OPENDEEP_TEST_ARI_APP', 'opendeep-test')}-{os.getpid()}-{next(_APP_SERIAL)}",
    )


@pytest.fixture
async def make_telephony(target, sink):
    """Start adapters on the target with extra `AriConfig` fields (media, dial endpoint); all closed at the end."""
    started = []

    async def make(**config):
        adapter = ari_telephony(target, sink, app=target.app, mode="simulated" if target.sim else "asterisk", **config)
        await adapter.start()
        started.append(adapter)
        return adapter

    yield make
    for adapter in started:
        await adapter.close()


@pytest.fixture
async def telephony(make_telephony):
    return await make_telephony()
