from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import aiohttp
import pytest

from ari_apps.rest_client import AriRestClient
from ari_apps.simulator import PbxSimulator, SimulatorConfig
from ari_apps.simulator.sip_trunk import trunk_failure

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


def trunk_numbers(text: str) -> dict[str, str]:
    """`OPENDEEP_TEST_TRUNK_NUMBERS`: "persona=number,persona=number" (the carrier's test numbers)."""
    pairs = (item.partition("=") for item in text.split(",") if item.strip())
    return {persona.strip(): number.strip() for persona, _, number in pairs}


@dataclass
class Target:
    """Where the call scenarios run: the simulator, or a real Asterisk from the environment
    (its dialplan's Local callees, or a carrier behind its SIP trunk)."""

    name: str
    ari_url: str
    user: str
    password: str
    app: str
    sim: PbxSimulator | None = None
    trunk_endpoint: str = ""  # e.g. PJSIP/{number}@trunk: dial the carrier's numbers instead of Local/
    trunk_numbers: dict[str, str] | None = None

    @property
    def scale(self) -> float:
        return FAST if self.sim else 1.0

    @property
    def through_trunk(self) -> bool:
        return bool(self.trunk_endpoint)

    def endpoint(self, persona: str) -> str:
        if not self.through_trunk:
            return f"Local/s@callee-{persona}/n"
        number = (self.trunk_numbers or {}).get(persona)
        if number is None:
            pytest.skip(f"trunk: OPENDEEP_TEST_TRUNK_NUMBERS names no carrier number for '{persona}'")
        return self.trunk_endpoint.format(number=number)

    def cause(self, carrier_cause: int) -> int:
        """The cause our leg sees when the callee hangs up with `carrier_cause` (a trunk maps it through SIP)."""
        return trunk_failure(carrier_cause)[1] if self.through_trunk else carrier_cause

    async def callee_hangup(self, rest: AriRestClient, call_id: str) -> None:
        """The callee hangs up (on Asterisk: the Local ;2 half is hung up, which takes ;1 with it)."""
        if self.sim:
            await self.sim.callee_hangup(call_id)
        elif self.through_trunk:
            pytest.skip("trunk: the carrier's callee cannot be made to hang up from here")
        else:
            await rest.hangup(f"{call_id}-callee")

    def callee_leg(self, call_id: str) -> str:
        if self.through_trunk:
            pytest.skip("trunk: there is no callee leg on our PBX (the carrier has it)")
        return f"{call_id}-callee"


@pytest.fixture(
    params=[
        "simulator",
        pytest.param("asterisk", marks=pytest.mark.real_asterisk),
        pytest.param("asterisk-trunk", marks=pytest.mark.real_asterisk),
    ]
)
async def target(request):
    if request.param == "simulator":
        async with PbxSimulator(SimulatorConfig(time_scale=FAST)) as simulator:
            yield Target("simulator", simulator.ari_url, simulator.user, simulator.password, "opendeep", simulator)
        return
    url = os.environ.get("OPENDEEP_TEST_ARI_URL")
    if not url:
        pytest.skip("real Asterisk: set OPENDEEP_TEST_ARI_URL (+ _USER, _PASSWORD) to run these against one")
    trunk = ""
    if request.param == "asterisk-trunk":
        trunk = os.environ.get("OPENDEEP_TEST_TRUNK_ENDPOINT", "")
        if not trunk:
            pytest.skip(
                "real Asterisk through a SIP trunk: set OPENDEEP_TEST_TRUNK_ENDPOINT (e.g. 'PJSIP/{number}@trunk') "
                "and OPENDEEP_TEST_TRUNK_NUMBERS (persona=number,...)"
            )
    yield Target(
        request.param,
        url,
        os.environ.get("OPENDEEP_TEST_ARI_USER", "opendeep"),
        os.environ.get("OPENDEEP_TEST_ARI_PASSWORD", ""),
        # One app name per test: Asterisk unregisters a closed socket's app asynchronously, by
        # name, and the next test's adapter registering the same name meanwhile was left deaf.
        f"{os.environ.get('OPENDEEP_TEST_ARI_APP', 'opendeep-test')}-{os.getpid()}-{next(_APP_SERIAL)}",
        trunk_endpoint=trunk,
        trunk_numbers=trunk_numbers(os.environ.get("OPENDEEP_TEST_TRUNK_NUMBERS", "")),
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
