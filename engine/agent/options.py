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
    cancel_goodbye_s: float = 6.0  # the task was cancelled mid-call: the goodbye plays, then hang-up, within this
    intercept_listen_s: float = 8.0  # how long the callee's first audio is checked for SIT tones
    response_wait_s: float = 15.0  # how long end_call waits for the goodbye response to finish
    listen_first_s: float = 1.5  # after answer, this long without the callee speaking: the agent greets
    # None switches these off (tests of other behaviour)
    dead_air_s: float | None = 8.0  # nobody speaks this long: the agent checks in; again: it ends ("no response")
    max_call_s: float | None = 15 * 60.0  # the agent wraps up and hangs up at this call length
    session_handover_s: float | None = 55 * 60.0  # a fresh model session takes over (the provider ends it at 60 min)
    machine_greeting_s: float = 6.0  # the callee's first words run this long without a pause: a machine
    beep_wait_s: float = 20.0  # on voicemail, how long to wait for the beep after the greeting ended
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
            listen_first_s=settings.listen_first_s,
            dead_air_s=settings.dead_air_s,
            max_call_s=settings.max_call_minutes * 60.0,
            session_handover_s=settings.model_session_handover_s,
        )
