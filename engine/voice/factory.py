"""Which voice model `opendeep serve` uses: OpenAI when a key is configured, else the simulator.

The simulated model is the real adapter talking to an in-process
`RealtimeSimulator` on a loopback port, so every call exercises the same code
path as production.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.telephony import ComponentStatus
from engine.settings import Settings
from engine.voice.health import VoiceModelProbe
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import ConversationalResponder
from engine.voice.simulator.server import RealtimeSimulator


@dataclass(slots=True)
class VoiceModelService:
    model: OpenAIRealtimeModel
    simulator: RealtimeSimulator | None = None
    probe: VoiceModelProbe | None = None  # OpenAI: the key and model checked for real, now and then

    @property
    def mode(self) -> str:
        return "simulated" if self.simulator is not None else "openai"

    def status(self) -> ComponentStatus:
        details = {"model": self.model.model}
        if self.simulator is not None:
            return ComponentStatus(
                True, "simulated", "no OpenAI key configured: a scripted voice model answers", details
            )
        if self.probe is not None:
            return self.probe.status()
        return ComponentStatus(True, "openai", "", details)

    async def close(self) -> None:
        if self.probe is not None:
            await self.probe.close()
        await self.model.aclose()
        if self.simulator is not None:
            await self.simulator.stop()


async def start_voice_model(
    settings: Settings, *, simulator_idle_s: float | None = 6.0, clock: Clock = SYSTEM_CLOCK
) -> VoiceModelService:
    """Build the voice model for this process; close it with `service.close()` at shutdown.

    With a key, its probe checks the key and the model at once and every `voice_model_check_s`.
    """
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        key = settings.openai_api_key.get_secret_value()
        model = OpenAIRealtimeModel(api_key=key, model=settings.realtime_model, base_url=settings.openai_base_url)
        client = openai.AsyncOpenAI(api_key=key, base_url=settings.openai_base_url, max_retries=0)
        probe = VoiceModelProbe(client, settings.realtime_model, clock, interval_s=settings.voice_model_check_s)
        probe.start()
        return VoiceModelService(model, probe=probe)
    simulator = await RealtimeSimulator(
        ConversationalResponder(), energy_vad=True, idle_timeout_s=simulator_idle_s
    ).start()
    model = OpenAIRealtimeModel(
        api_key="simulated", model=settings.realtime_model, websocket_base_url=simulator.base_url, name="simulated"
    )
    return VoiceModelService(model, simulator)
