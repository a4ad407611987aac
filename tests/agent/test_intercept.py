"""The SIT detector on synthesized intercept tones and on speech-like audio (no false positive)."""

from __future__ import annotations

import numpy as np
import pytest

from ari_apps.simulator.audio import silence, speech
from engine.agent.intercept import MIN_SEGMENT_MS, SitDetector
from engine.ports.telephony import AudioFormat
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


@pytest.mark.parametrize("chunk", [160, 480, 100])
def test_the_wire_s_mu_law_is_heard_as_its_pcm_is(chunk: int) -> None:
    """Fed the call's mu-law straight (silence counted without decoding it), the detector hears the
    tones at the same moment as when fed the same audio decoded to PCM."""
    wire = pcm16_to_ulaw(silence(1.0) + sit() + silence(0.5))
    from_pcm, from_wire = SitDetector(8000), SitDetector.for_media(AudioFormat.ULAW)
    assert feed_in_frames(from_pcm, ulaw_to_pcm16(wire), frame_bytes=2 * chunk)
    assert feed_in_frames(from_wire, wire, frame_bytes=chunk)
    assert from_wire.heard_ms == from_pcm.heard_ms


@pytest.mark.parametrize(("gap_ms", "detected"), [(60, True), (420, False)])
def test_quiet_wire_audio_between_the_tones_is_a_gap_of_its_length(gap_ms: int, detected: bool) -> None:
    """Whole quiet chunks on the wire are counted without decoding them: a short gap between two
    tones keeps the sequence, a long one breaks it."""
    detector = SitDetector.for_media(AudioFormat.ULAW)
    tones = pcm16_to_ulaw(sit(lengths=(280, 280, 380)))  # whole 20 ms blocks: no partial block carried
    first_two, quiet = tones[: 8 * 560], b"\xff" * 8 * gap_ms
    assert not feed_in_frames(detector, first_two, frame_bytes=160)
    assert not feed_in_frames(detector, quiet, frame_bytes=480 if gap_ms % 60 == 0 else 160)
    assert feed_in_frames(detector, tones[len(first_two) :], frame_bytes=160) is detected
    assert detector.heard_ms == 560 + gap_ms + (MIN_SEGMENT_MS if detected else 380)  # found 180 ms into the third


@pytest.mark.parametrize("seed", range(1, 4))
def test_speech_on_the_wire_is_not_an_intercept(seed: int) -> None:
    assert not feed_in_frames(SitDetector.for_media(AudioFormat.ULAW), pcm16_to_ulaw(speech(8.0, seed=seed)), 160)
