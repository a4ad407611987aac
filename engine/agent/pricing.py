"""Estimated cost of a call from the token usage the model reported."""

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


def estimate_cost(usage: Usage, model: str, table: dict[str, TokenPrices] | None = None) -> float:
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
