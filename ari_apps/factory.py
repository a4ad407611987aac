"""The telephony `opendeep serve` uses: a real Asterisk when `ari_url` is set, else the simulator.

Registered as the `telephony` entry point (pyproject), so the engine builds it
without importing `ari_apps`.
"""

from __future__ import annotations

import dataclasses
import secrets

from ari_apps.adapter import AriTelephony
from ari_apps.config import AriConfig
from ari_apps.simulator.pbx import SimulatorConfig
from ari_apps.simulator.server import PbxSimulator, start_simulator
from engine.ports.telephony import TelephonyEventSink
from engine.settings import Settings


class SimulatedTelephony(AriTelephony):
    """The ARI adapter talking to an in-process PBX simulator that it owns and closes."""

    def __init__(self, config: AriConfig, sink: TelephonyEventSink, simulator: PbxSimulator) -> None:
        super().__init__(config, sink)
        self.simulator = simulator

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.simulator.close()


async def build_telephony(settings: Settings, sink: TelephonyEventSink) -> AriTelephony:
    if settings.ari_url:
        return AriTelephony(AriConfig.from_settings(settings), sink)
    # The simulator's ARI login is made up for this process and never shown (nor in /health).
    credentials = {"opendeep": secrets.token_urlsafe(24)}
    simulator = await start_simulator("127.0.0.1", 0, SimulatorConfig(users=credentials))
    config = dataclasses.replace(
        AriConfig.from_settings(settings, mode="simulated"),
        ari_url=simulator.ari_url,
        user=simulator.user,
        password=simulator.password,
    )
    return SimulatedTelephony(config, sink, simulator)
