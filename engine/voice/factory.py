"""Which voice model `opendeep serve` uses: OpenAI when a key is configured, else the simulator.

The simulated model is the real adapter talking to an in-process
`RealtimeSimulator` on a loopback port, so every call exercises the same code
path as production.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.ports.telephony import ComponentStatus
from engine.settings import Settings
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import ConversationalResponder
from engine.voice.simulator.server import RealtimeSimulator


@dataclass(slots=True)
class VoiceModelService:
    model: OpenAIRealtimeModel
    simulator: RealtimeSimulator | None = None

    @property
    def mode(self) -> str:
        return "simulated" if self.simulator is not None else "openai"

    def status(self) -> ComponentStatus:
        details = {"model": self.model.model}
        if self.simulator is not None:
            return ComponentStatus(
                True, "simulated", "no OpenAI key configured: a scripted voice model answers", details
            )
        return ComponentStatus(True, "openai", "", details)

    async def close(self) -> None:
        await self.model.aclose()
        if self.simulator is not None:
            await self.simulator.stop()


async def start_voice_model(settings: Settings, *, simulator_idle_s: float | None = 6.0) -> VoiceModelService:
    """Build the voice model for this process; close it with `service.close()` at shutdown."""
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        model = OpenAIRealtimeModel(
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.realtime_model,
            base_url=settings.openai_base_url,
            append_ms=settings.realtime_append_ms,
        )
        return VoiceModelService(model)
    simulator = await RealtimeSimulator(
        ConversationalResponder(), energy_vad=True, idle_timeout_s=simulator_idle_s
    ).start()
    model = OpenAIRealtimeModel(
        api_key="simulated", model=settings.realtime_model, websocket_base_url=simulator.base_url, name="simulated",
        append_ms=settings.realtime_append_ms,
    )
    return VoiceModelService(model, simulator)
