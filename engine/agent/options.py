"""Tunables of the per-call runtime, with a constructor from the process settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.agent.pricing import DEFAULT_PRICES, TokenPrices
from engine.ports.voice_model import TurnDetectionConfig

if TYPE_CHECKING:
    from engine.settings import Settings


@dataclass(frozen=True, slots=True)
class AgentSessionOptions:
    model_name: str = "gpt-realtime-1.5"  # for the price table only
    voice: str = "marin"
    turn_detection: TurnDetectionConfig = field(default_factory=TurnDetectionConfig)
    transcription_model: str | None = "gpt-4o-mini-transcribe"
    hitl_timeout_s: float = 45.0
    dtmf_reply_after_s: float = 1.5  # keys pressed, then this long without more keys: the agent reacts
    hitl_reassure_every_s: float = 20.0  # "still checking" while the user is asked
    hitl_give_up_grace_s: float = 30.0  # after a HITL timeout, hang up if the model has not
    goodbye_grace_s: float = 3.0  # waited beyond the goodbye's length for its mark
    response_wait_s: float = 15.0  # how long end_call waits for the goodbye response to finish
    rate_limit_retries: int = 2
    rate_limit_backoff_s: float = 1.0
    prices: dict[str, TokenPrices] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def from_settings(cls, settings: Settings) -> AgentSessionOptions:
        return cls(
            model_name=settings.live_model if settings.voice_provider.value == "live" else settings.realtime_model,
            voice=settings.realtime_voice,
            turn_detection=TurnDetectionConfig(kind=settings.turn_detection.value, silence_ms=settings.vad_silence_ms),
            transcription_model=settings.transcription_model or None,
            hitl_timeout_s=float(settings.hitl_timeout_s),
        )
