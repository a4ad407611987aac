"""The simulated phone line between the service and the callee: decoding the input formats,
and an optional echo of the agent's own audio coming back into the input.

`LineEcho(delay_ms, attenuation_db)` makes the line return what the agent says, `delay_ms`
later on the input timeline and `attenuation_db` quieter, as PSTN hybrids do; the agent's
audio plays in real time from the moment its response streams, and stops when the response
is cancelled (the client flushes its playout on barge-in).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.voice.codecs import pcm16_to_ulaw, ulaw_to_pcm16


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    mantissa, exponent = codes & 0x0F, (codes >> 4) & 0x07
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


_ALAW = _alaw_table()
_ALAW_ORDER = np.argsort(_ALAW, kind="stable")


def alaw_to_pcm16(data: bytes) -> bytes:
    return _ALAW[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def pcm16_to_alaw(data: bytes) -> bytes:
    """Nearest A-law code for each sample (a table search; the simulator's volumes are tiny)."""
    samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")
    values = _ALAW[_ALAW_ORDER]
    index = np.clip(np.searchsorted(values, samples), 1, 255)
    nearer_below = (samples - values[index - 1]) < (values[index] - samples)
    return _ALAW_ORDER[np.where(nearer_below, index - 1, index)].astype(np.uint8).tobytes()


def decode(audio: bytes, fmt_type: str) -> bytes:
    """Wire audio in a GA input format -> PCM16 (8 kHz for G.711, 24 kHz for audio/pcm)."""
    if fmt_type == "audio/pcmu":
        return ulaw_to_pcm16(audio)
    if fmt_type == "audio/pcma":
        return alaw_to_pcm16(audio)
    return audio


def encode(pcm16: bytes, fmt_type: str) -> bytes:
    if fmt_type == "audio/pcmu":
        return pcm16_to_ulaw(pcm16)
    if fmt_type == "audio/pcma":
        return pcm16_to_alaw(pcm16)
    return pcm16


@dataclass(frozen=True, slots=True)
class LineEcho:
    delay_ms: int = 100
    attenuation_db: float = 20.0


class EchoPath:
    """The agent's audio scheduled to come back into the input, in samples at the input rate."""

    def __init__(self, echo: LineEcho) -> None:
        self.echo = echo
        self._segments: list[tuple[int, np.ndarray]] = []  # (first input sample, float samples)
        self._playhead_ms = 0.0

    def played(self, pcm16: bytes, out_rate: int, now_ms: float, in_rate: int) -> None:
        """Agent audio handed to the line at `now_ms`; it plays after what is already queued."""
        start_ms = max(self._playhead_ms, now_ms)
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
        self._playhead_ms = start_ms + len(samples) * 1000 / out_rate
        if out_rate != in_rate and len(samples):
            count = int(len(samples) * in_rate / out_rate)
            samples = np.interp(np.arange(count) * out_rate / in_rate, np.arange(len(samples)), samples)
        gain = 10 ** (-self.echo.attenuation_db / 20)
        first = int((start_ms + self.echo.delay_ms) * in_rate / 1000)
        self._segments.append((first, samples.astype(np.float32) * gain))

    def stop(self, now_ms: float, in_rate: int) -> None:
        """The agent's playout was flushed at `now_ms`: what was not yet played never echoes."""
        cut = int((now_ms + self.echo.delay_ms) * in_rate / 1000)
        self._segments = [(first, samples[: max(0, cut - first)]) for first, samples in self._segments if first < cut]
        self._playhead_ms = min(self._playhead_ms, now_ms)

    def mix(self, pcm16: bytes, first_sample: int) -> bytes:
        """Add the echo that falls on these received samples (starting at `first_sample`)."""
        if not self._segments:
            return pcm16
        heard = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
        end = first_sample + len(heard)
        for first, samples in self._segments:
            lo, hi = max(first, first_sample), min(first + len(samples), end)
            if lo < hi:
                heard[lo - first_sample : hi - first_sample] += samples[lo - first : hi - first]
        self._segments = [(f, s) for f, s in self._segments if f + len(s) > end]
        return np.clip(heard, -32768, 32767).astype("<i2").tobytes()
