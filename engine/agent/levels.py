"""How loud call audio is: G.711 mu-law or 16-bit PCM frames as float samples and their RMS.

engine.voice.codecs has the same mu-law table; the agent may not import engine.voice.
"""

from __future__ import annotations

import numpy as np

from engine.ports.telephony import AudioFormat


def _ulaw_decode_table() -> np.ndarray:
    """G.711 mu-law code -> sample, as a share of full scale."""
    inverted = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (inverted >> 4) & 0x07, inverted & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(inverted & 0x80, -magnitude, magnitude).astype(np.float64) / 32768


ULAW_TO_FLOAT = _ulaw_decode_table()


def samples(audio: bytes, fmt: AudioFormat) -> np.ndarray:
    """Mu-law bytes or 16-bit little-endian PCM -> float samples (1.0 = full scale)."""
    if fmt is AudioFormat.ULAW:
        return ULAW_TO_FLOAT.take(np.frombuffer(audio, dtype=np.uint8))
    return np.frombuffer(audio[: len(audio) - len(audio) % 2], dtype="<i2").astype(np.float64) / 32768


def quiet_ulaw_codes(level: float) -> bytes:
    """The mu-law codes of samples below `level` (of full scale): a frame of these only is below it in RMS too."""
    return bytes(code for code in range(256) if abs(ULAW_TO_FLOAT[code]) < level)


def quiet_frames(audio: bytes, quiet_codes: bytes | None, frame_bytes: int) -> int:
    """How many whole frames of `frame_bytes` mu-law `audio` is when every sample is one of `quiet_codes`
    (`quiet_ulaw_codes`), found with one `bytes.translate` and no numpy; 0 otherwise (or no codes: not mu-law)."""
    if quiet_codes is None or len(audio) % frame_bytes or audio.translate(None, quiet_codes):
        return 0
    return len(audio) // frame_bytes


def rms(audio: bytes, fmt: AudioFormat) -> float:
    """Root mean square of a frame, 0..1 of full scale (0 for an empty frame)."""
    x = samples(audio, fmt)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def silence(length: int, fmt: AudioFormat) -> bytes:
    """`length` bytes of silence in `fmt`."""
    return (b"\xff" if fmt is AudioFormat.ULAW else b"\x00") * length
