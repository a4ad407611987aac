"""What the tests listen for in received audio: a test tone, or anything audible."""

from __future__ import annotations

import numpy as np

from ari_apps.g711 import pcm16_to_ulaw, ulaw_to_pcm16
from engine.ports.telephony import AudioFormat


def tone(fmt: AudioFormat, hz: float, seconds: float, level: float = 0.3) -> bytes:
    """A sine tone in the media format (ulaw or 16 kHz slin)."""
    rate = fmt.sample_rate
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()
    return pcm16_to_ulaw(pcm) if fmt is AudioFormat.ULAW else pcm


def pcm(fmt: AudioFormat, data: bytes) -> np.ndarray:
    raw = ulaw_to_pcm16(data) if fmt is AudioFormat.ULAW else data
    return np.frombuffer(raw, dtype="<i2").astype(np.float64)


def audible(fmt: AudioFormat, frame: bytes, threshold: float = 300.0) -> bool:
    samples = pcm(fmt, frame)
    return samples.size > 0 and float(np.sqrt(np.mean(samples * samples))) >= threshold


def is_tone(fmt: AudioFormat, frame: bytes, hz: float, share: float = 0.6) -> bool:
    """The frame is audible and most of its energy is within 100 Hz of `hz`."""
    samples = pcm(fmt, frame)
    if samples.size < 32 or not audible(fmt, frame):
        return False
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / fmt.sample_rate)
    near = spectrum[np.abs(freqs - hz) <= 100].sum()
    return float(near / max(spectrum.sum(), 1e-9)) >= share
