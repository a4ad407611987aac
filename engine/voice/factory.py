"""Which voice models `opendeep serve` uses: OpenAI when a key is configured, else a simulator.

Two providers sit behind the same port: OpenAI Realtime (`realtime`) and GPT-Live (`live`).
`OPENDEEP_VOICE_PROVIDER` picks the installation's default; a task may choose the other one,
which is then opened on first use (`model_for`). A simulated model is the real adapter talking
to an in-process simulator of that provider's protocol on a loopback port, so every call
exercises the same code path as production. With a key, a probe checks the key and the default
provider's model for real, at start and every `voice_model_check_s` (`/health`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.telephony import ComponentStatus
from engine.ports.voice_model import VoiceModel
from engine.settings import Settings, VoiceProvider
from engine.voice.health import VoiceModelProbe
from engine.voice.live_simulator.server import LiveSimulator
from engine.voice.openai_live import OpenAILiveModel
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import ConversationalResponder
from engine.voice.simulator.server import RealtimeSimulator


@dataclass(slots=True)
class _Provided:
    model: Any  # OpenAIRealtimeModel | OpenAILiveModel
    simulator: RealtimeSimulator | LiveSimulator | None = None


@dataclass(slots=True)
class VoiceModelService:
    settings: Settings
    default: VoiceProvider
    simulator_idle_s: float | None = 6.0
    clock: Clock = SYSTEM_CLOCK  # the process's time (GPT-Live infers the model's turns on it)
    probe: VoiceModelProbe | None = None  # OpenAI: the key and model checked for real, now and then
    _models: dict[VoiceProvider, _Provided] = field(default_factory=dict)

    @property
    def model(self) -> VoiceModel:
        """The installation's default provider's model."""
        return self._models[self.default].model

    @property
    def simulator(self) -> RealtimeSimulator | LiveSimulator | None:
        return self._models[self.default].simulator

    @property
    def mode(self) -> str:
        return "simulated" if self.simulator is not None else "openai"

    async def model_for(self, provider: str | None) -> VoiceModel:
        """The model of `provider` (the default when None), opened on first use."""
        chosen = VoiceProvider(provider) if provider else self.default
        if chosen not in self._models:
            self._models[chosen] = await _provide(self.settings, chosen, self.simulator_idle_s, self.clock)
        return self._models[chosen].model

    def status(self) -> ComponentStatus:
        model = self._models[self.default].model
        details = {"provider": self.default.value, "model": model.model}
        for provider, provided in self._models.items():
            if provider is not self.default:
                details[f"{provider.value}_model"] = provided.model.model
        if self.simulator is not None:
            return ComponentStatus(
                True, "simulated", "no OpenAI key configured: a scripted voice model answers", details
            )
        if self.probe is not None:
            checked = self.probe.status()
            return ComponentStatus(checked.ok, checked.mode, checked.reason, {**details, **(checked.details or {})})
        return ComponentStatus(True, "openai", "", details)

    async def close(self) -> None:
        if self.probe is not None:
            await self.probe.close()
        for provided in self._models.values():
            await provided.model.aclose()
            if provided.simulator is not None:
                await provided.simulator.stop()


async def _provide(
    settings: Settings, provider: VoiceProvider, simulator_idle_s: float | None, clock: Clock
) -> _Provided:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key is not None else ""
    if provider is VoiceProvider.LIVE:
        if key:
            model = OpenAILiveModel(
                api_key=key,
                model=settings.live_model,
                backend_model=settings.live_backend_model,
                voice=settings.live_voice,
                base_url=settings.openai_base_url,
                clock=clock,
            )
            return _Provided(model)
        live = await LiveSimulator(
            ConversationalResponder(), energy_vad=True, idle_timeout_s=simulator_idle_s
        ).start()
        model = OpenAILiveModel(
            api_key="simulated",
            model=settings.live_model,
            backend_model=settings.live_backend_model,
            voice=settings.live_voice,
            websocket_base_url=live.base_url,
            name="simulated",
            clock=clock,
        )
        return _Provided(model, live)
    if key:
        realtime = OpenAIRealtimeModel(api_key=key, model=settings.realtime_model, base_url=settings.openai_base_url,
                                       append_ms=settings.realtime_append_ms)
        return _Provided(realtime)
    simulator = await RealtimeSimulator(
        ConversationalResponder(), energy_vad=True, idle_timeout_s=simulator_idle_s
    ).start()
    realtime = OpenAIRealtimeModel(
        api_key="simulated", model=settings.realtime_model, websocket_base_url=simulator.base_url, name="simulated",
        append_ms=settings.realtime_append_ms,
    )
    return _Provided(realtime, simulator)


async def start_voice_model(
    settings: Settings, *, simulator_idle_s: float | None = 6.0, clock: Clock = SYSTEM_CLOCK
) -> VoiceModelService:
    """Build the default provider's model for this process; close it with `service.close()` at shutdown."""
    service = VoiceModelService(settings, settings.voice_provider, simulator_idle_s, clock)
    model = await service.model_for(None)
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        client = openai.AsyncOpenAI(api_key=settings.openai_api_key.get_secret_value(),
                                    base_url=settings.openai_base_url, max_retries=0)
        service.probe = VoiceModelProbe(client, model.model, clock, interval_s=settings.voice_model_check_s)
        service.probe.start()
    return service
