"""Audio the simulated callees speak and hear: synthesis and format conversion.

Callees think in 8 kHz 16-bit PCM; `to_wire`/`from_wire` convert to and from the
media channel's Asterisk format (ulaw, slin, slin16). Speech is synthesised with
numpy at set-up: voiced "syllables" (a glottal-like pulse train through a few
formant resonances, with pitch and amplitude contours) separated by short pauses.
It is not language, but it has speech's rhythm and spectrum, which is what
voice-activity detection and the media path care about. Nothing is written to disk.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..g711 import pcm16_to_ulaw, ulaw_to_pcm16

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz

WIRE_FRAME_BYTES = {"ulaw": 160, "slin": 320, "slin16": 640}
SILENT_FRAME = bytes(2 * FRAME_SAMPLES)  # 20 ms of 8 kHz PCM16 silence


@cache
def speech(seconds: float, seed: int = 1) -> bytes:
    """Speech-like PCM16 (8 kHz) of about `seconds`, deterministic per seed."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    total = int(seconds * RATE)
    produced = 0
    while produced < total:
        length = int(rng.uniform(0.12, 0.28) * RATE)
        out.append(_syllable(length, rng))
        pause = int(rng.choice([0.04, 0.06, 0.09, 0.25], p=[0.4, 0.3, 0.2, 0.1]) * RATE)
        out.append(np.zeros(pause))
        produced += length + pause
    signal = np.concatenate(out)[:total]
    return (signal * 9000).astype("<i2").tobytes()


def _syllable(length: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(length) / RATE
    f0 = rng.uniform(100, 200) * (1 + 0.15 * np.sin(np.pi * t / t[-1]))
    phase = np.cumsum(2 * np.pi * f0 / RATE)
    source = np.zeros(length)
    for harmonic in range(1, 20):
        source += np.sin(harmonic * phase) / harmonic
    formants = rng.uniform([500, 1200, 2300], [800, 1800, 2800])
    voiced = np.zeros(length)
    for i, formant in enumerate(formants):
        voiced += source * (0.5 + 0.5 * np.cos(2 * np.pi * formant * t)) / (i + 1)
    envelope = np.sin(np.pi * np.arange(length) / length) ** 0.6
    voiced *= envelope / max(1e-9, np.max(np.abs(voiced)))
    return voiced


def tone(hz: float, seconds: float, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()


# Special Information Tones, "vacant code" (ITU-T E.180 / Telcordia): 913.8, 1370.6, 1776.7 Hz.
SIT_VACANT_CODE = ((913.8, 0.380), (1370.6, 0.274), (1776.7, 0.380))


@cache
def intercept(seconds: float = 2.0) -> bytes:
    """A carrier's "number not in service" recording: SIT tones, a pause, then speech."""
    tones = b"".join(tone(hz, length) for hz, length in SIT_VACANT_CODE)
    return tones + silence(0.3) + speech(seconds, seed=42)


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def is_silent(pcm_frame: bytes, threshold: float = 500.0) -> bool:
    samples = np.frombuffer(pcm_frame, dtype="<i2").astype(np.float32)
    return samples.size == 0 or float(np.sqrt(np.mean(samples * samples))) < threshold


def to_wire(pcm8k: bytes, fmt: str) -> bytes:
    """8 kHz PCM16 -> the media channel's format."""
    if fmt == "ulaw":
        return pcm16_to_ulaw(pcm8k)
    if fmt == "slin16":
        samples = np.frombuffer(pcm8k, dtype="<i2")
        return np.repeat(samples, 2).astype("<i2").tobytes()
    return pcm8k


def from_wire(data: bytes, fmt: str) -> bytes:
    """The media channel's format -> 8 kHz PCM16 (what a callee hears)."""
    if fmt == "ulaw":
        return ulaw_to_pcm16(data)
    if fmt == "slin16":
        return np.frombuffer(data, dtype="<i2")[::2].tobytes()
    return data


def frames(pcm8k: bytes) -> list[bytes]:
    """Cut PCM into 20 ms frames, padding the last one with silence."""
    step = FRAME_SAMPLES * 2
    padded = pcm8k + bytes(-len(pcm8k) % step)
    return [padded[i : i + step] for i in range(0, len(padded), step)]
