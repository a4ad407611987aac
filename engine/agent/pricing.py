"""Estimated cost of a call from the usage the model reported: tokens for Realtime models, active
seconds (plus the delegated backend's tokens) for GPT-Live models."""

from __future__ import annotations

from dataclasses import dataclass

from engine.ports.voice_model import Usage


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """US dollars per million tokens."""

    audio_in: float
    cached_in: float
    audio_out: float
    text_in: float
    text_out: float


# Published list prices (openai-realtime.md §5.3); override per deployment.
DEFAULT_PRICES: dict[str, TokenPrices] = {
    "gpt-realtime-1.5": TokenPrices(32.0, 0.40, 64.0, 4.0, 16.0),
    "gpt-realtime-2": TokenPrices(32.0, 0.40, 64.0, 4.0, 24.0),
    "gpt-realtime-2.1-mini": TokenPrices(10.0, 0.30, 20.0, 0.60, 2.40),
}
FALLBACK_PRICES = DEFAULT_PRICES["gpt-realtime-1.5"]


@dataclass(frozen=True, slots=True)
class MinutePrices:
    """US dollars per active minute (billed per second), and per million backend tokens."""

    per_minute: float
    backend_text_in: float
    backend_text_out: float


# GPT-Live: $0.05 per active minute, billed per second (openai-live.md §6); the backend
# (Responses) model's tokens at a gpt-5-mini rate.
LIVE_PRICES: dict[str, MinutePrices] = {
    "gpt-live-1": MinutePrices(0.05, 0.25, 2.0),
    "gpt-live-1.1": MinutePrices(0.05, 0.25, 2.0),
}


def estimate_cost(
    usage: Usage, model: str, table: dict[str, TokenPrices] | None = None, minutes: dict[str, MinutePrices] | None = None
) -> float:
    per_minute = (minutes or LIVE_PRICES).get(model)
    if per_minute is not None or usage.active_seconds:
        per_minute = per_minute or LIVE_PRICES["gpt-live-1"]
        dollars = usage.active_seconds / 60 * per_minute.per_minute
        tokens = usage.input_text_tokens * per_minute.backend_text_in + usage.output_text_tokens * per_minute.backend_text_out
        return round(dollars + tokens / 1_000_000, 6)
    prices = (table or DEFAULT_PRICES).get(model, FALLBACK_PRICES)
    cached = usage.input_cached_tokens
    # Cached tokens are counted inside the audio/text input figures; bill them at the cached rate.
    uncached_audio = max(0, usage.input_audio_tokens - cached)
    dollars = (
        uncached_audio * prices.audio_in
        + cached * prices.cached_in
        + usage.input_text_tokens * prices.text_in
        + usage.output_audio_tokens * prices.audio_out
        + usage.output_text_tokens * prices.text_out
    )
    return round(dollars / 1_000_000, 6)
