"""The SIT detector on synthesized intercept tones and on speech-like audio (no false positive)."""

from __future__ import annotations

import numpy as np
import pytest

from ari_apps.simulator.audio import silence, speech
from engine.agent.intercept import SitDetector
from engine.voice.codecs import pcm16_to_ulaw, ulaw_to_pcm16


def tone(hz: float, ms: int, rate: int, level: float = 0.25) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()


def sit(rate: int = 8000, freqs=(913.8, 1370.6, 1776.7), lengths=(274, 274, 380), gap_ms: int = 0) -> bytes:
    gap = bytes(2 * rate * gap_ms // 1000)
    return gap.join(tone(f, ms, rate) for f, ms in zip(freqs, lengths, strict=True))


def feed_in_frames(detector: SitDetector, pcm: bytes, frame_bytes: int = 320) -> bool:
    return any([detector.feed(pcm[i : i + frame_bytes]) for i in range(0, len(pcm), frame_bytes)])


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_three_rising_tones_are_detected(rate: int) -> None:
    detector = SitDetector(rate)
    assert feed_in_frames(detector, bytes(2 * rate // 2) + sit(rate) + bytes(2 * rate // 5), frame_bytes=2 * rate // 50)
    assert detector.heard_ms <= 500 + 274 + 274 + 380  # before the recording starts


def test_detected_through_mu_law_with_the_high_variants_and_short_gaps() -> None:
    wire = pcm16_to_ulaw(silence(0.3) + sit(freqs=(985.2, 1428.5, 1776.7), lengths=(276, 276, 380), gap_ms=20))
    assert feed_in_frames(SitDetector(8000), ulaw_to_pcm16(wire), frame_bytes=100)  # odd chunk sizes


@pytest.mark.parametrize("seed", range(1, 9))
def test_speech_is_not_an_intercept(seed: int) -> None:
    detector = SitDetector(8000)
    assert not feed_in_frames(detector, ulaw_to_pcm16(pcm16_to_ulaw(speech(8.0, seed=seed))))


def test_the_tones_out_of_order_or_one_alone_are_not_an_intercept() -> None:
    assert not feed_in_frames(SitDetector(), sit(freqs=(1776.7, 1370.6, 913.8)))
    assert not feed_in_frames(SitDetector(), tone(913.8, 2000, 8000))  # a long single tone (a dial tone, a beep)
    assert not feed_in_frames(SitDetector(), sit(gap_ms=400))  # segments too far apart
