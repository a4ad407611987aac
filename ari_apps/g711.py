"""G.711 mu-law <-> 16-bit PCM, as pure functions over bytes (tables built once with numpy)."""

from __future__ import annotations

import numpy as np

_BIAS = 0x84


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _encode_table() -> np.ndarray:
    # The classic 14-bit formulation (Sun g711.c), bit-exact with other implementations.
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), 8159) + 0x21
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), magnitude)
    code = np.where(segment > 7, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8)


_ULAW_TO_PCM = _decode_table()
_PCM_TO_ULAW = _encode_table()  # indexed by pcm + 32768


def ulaw_to_pcm16(data: bytes) -> bytes:
    """mu-law bytes -> little-endian signed 16-bit PCM (twice as long)."""
    return _ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def pcm16_to_ulaw(data: bytes) -> bytes:
    samples = np.frombuffer(data, dtype="<i2").astype(np.int32) + 32768
    return _PCM_TO_ULAW[samples].tobytes()
