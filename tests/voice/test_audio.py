"""Codecs and streaming resamplers: pure functions and per-stream state."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from engine.ports.telephony import AudioFormat
from engine.voice.audio_bridge import AudioBridge
from engine.voice.codecs import pcm16_to_ulaw, rms_level, tone_pcm16, ulaw_to_pcm16
from engine.voice.resample import SoxrStreamResampler


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.int32)


def test_ulaw_decode_table_known_values() -> None:
    assert samples(ulaw_to_pcm16(bytes([0xFF, 0x7F, 0x00, 0x80]))).tolist() == [0, 0, -32124, 32124]


def test_ulaw_round_trip_error_is_within_one_quantisation_step() -> None:
    pcm = np.arange(-32768, 32768, 7, dtype="<i2")
    back = samples(ulaw_to_pcm16(pcm16_to_ulaw(pcm.tobytes())))
    error = np.abs(back - pcm.astype(np.int32))
    # mu-law steps grow with the magnitude: 2**(exponent+3)
    assert np.all(error <= np.maximum(8, np.abs(pcm.astype(np.int32)) // 16 + 8))
    assert pcm16_to_ulaw(ulaw_to_pcm16(bytes(range(256)))) == bytes(range(256)).replace(b"\x7f", b"\xff")


def test_passthrough_for_ulaw() -> None:
    bridge = AudioBridge(AudioFormat.ULAW)
    frame = bytes(range(160))
    assert bridge.to_model(frame) == frame and bridge.from_model(frame) == frame
    assert bridge.model_format == {"type": "audio/pcmu"} and bridge.model_bytes_per_ms == 8


@pytest.mark.parametrize(("in_rate", "out_rate"), [(16000, 24000), (24000, 16000)])
def test_streaming_matches_one_shot_resampling(in_rate: int, out_rate: int) -> None:
    """State kept across 20 ms frames: no clicks at frame edges."""
    signal = tone_pcm16(1000, in_rate, frequency=1000, level=0.5)
    frame = in_rate // 50 * 2
    stream = SoxrStreamResampler(in_rate, out_rate)
    out = b"".join(stream.process(signal[i : i + frame]) for i in range(0, len(signal), frame)) + stream.flush()
    one_shot = soxr.resample(np.frombuffer(signal, dtype="<i2"), in_rate, out_rate, quality="LQ").astype(np.int32)
    streamed = samples(out)
    assert len(streamed) == len(one_shot) == out_rate
    assert np.max(np.abs(streamed - one_shot)) <= 2

    # Resampling each frame on its own (no state) is what clicks: the test would notice.
    naive = np.concatenate(
        [
            soxr.resample(np.frombuffer(signal[i : i + frame], dtype="<i2"), in_rate, out_rate, quality="LQ").astype(
                np.int32
            )
            for i in range(0, len(signal), frame)
        ]
    )
    assert np.max(np.abs(naive[: len(one_shot)] - one_shot)) > 300  # edge errors of ~500 LSB


def test_slin16_bridge_round_trip_keeps_the_tone() -> None:
    bridge = AudioBridge(AudioFormat.SLIN16)
    assert bridge.model_format == {"type": "audio/pcm", "rate": 24000} and bridge.model_bytes_per_ms == 48
    tone = tone_pcm16(500, 16000, frequency=440, level=0.3)
    up = b"".join(bridge.to_model(tone[i : i + 640]) for i in range(0, len(tone), 640))
    down = bridge.from_model(up) + bridge.end_of_output()
    assert abs(rms_level(down[3200:-3200]) - rms_level(tone[3200:-3200])) < 0.01


def test_downsampling_filters_what_would_alias() -> None:
    """24 kHz -> 16 kHz: a 10 kHz tone must not fold back into the phone band."""
    tone = tone_pcm16(500, 24000, frequency=10000, level=0.5)
    stream = SoxrStreamResampler(24000, 16000)
    out = stream.process(tone) + stream.flush()
    assert rms_level(out[1600:-1600]) < 0.005


def _latency_ms(in_rate: int, out_rate: int) -> tuple[float, float]:
    """(held back by the stream after the first frames, filter group delay) in ms."""
    frame = in_rate // 50
    stream = SoxrStreamResampler(in_rate, out_rate)
    impulse = np.zeros(in_rate // 5, dtype=np.int16)
    impulse[frame * 2] = 20000
    emitted, fed, held = [], 0, []
    for i in range(0, len(impulse), frame):
        emitted.append(stream.process(impulse[i : i + frame].tobytes()))
        fed += frame
        held.append(fed / in_rate * 1000 - sum(len(e) for e in emitted) / 2 / out_rate * 1000)
    peak = int(np.argmax(np.abs(samples(b"".join(emitted)))))
    delay = peak / out_rate * 1000 - frame * 2 / in_rate * 1000
    return max(held[2:]), delay


def test_resampler_latency_is_a_few_ms() -> None:
    """Prints the figures (run with -s); bounds are in samples, not wall-clock time."""
    for in_rate, out_rate in [(16000, 24000), (24000, 16000)]:
        held, delay = _latency_ms(in_rate, out_rate)
        print(f"\nsoxr LQ {in_rate}->{out_rate}: holds back {held:.1f} ms of audio, filter delay {delay:.2f} ms")
        assert held <= 20 and abs(delay) <= 5
