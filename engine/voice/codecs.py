"""G.711 mu-law <-> 16-bit linear PCM, and a test tone. Pure functions, no state."""

from __future__ import annotations

import numpy as np

_BIAS = 0x84
_CLIP = 32635


def _build_decode_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32)
    inverted = ~codes & 0xFF
    sign = inverted & 0x80
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _build_encode_table() -> np.ndarray:
    samples = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), _CLIP) + _BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_DECODE = _build_decode_table()
_ENCODE = _build_encode_table()  # indexed by sample + 32768


def ulaw_to_pcm16(data: bytes) -> bytes:
    """mu-law bytes -> little-endian signed 16-bit samples (twice as many bytes)."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def pcm16_to_ulaw(data: bytes) -> bytes:
    """Little-endian signed 16-bit samples -> mu-law bytes. A trailing odd byte is ignored."""
    samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int32)
    return _ENCODE[samples + 32768].tobytes()


def tone_pcm16(
    duration_ms: int, rate: int, frequency: float = 440.0, level: float = 0.2, phase_ms: float = 0.0
) -> bytes:
    """A sine tone, handy as stand-in speech for simulators and tests."""
    count = rate * duration_ms // 1000
    t = (np.arange(count) + phase_ms * rate / 1000) / rate
    wave = np.sin(2 * np.pi * frequency * t) * level * 32767
    return wave.astype("<i2").tobytes()


def rms_level(pcm16: bytes) -> float:
    """Root mean square of 16-bit samples, 0..1 of full scale."""
    samples = np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples * samples)) / 32768)
