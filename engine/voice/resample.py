"""Streaming resamplers: one instance per stream direction, state kept across frames."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import soxr


class Resampler(Protocol):
    in_rate: int
    out_rate: int

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next chunk; output may lag the input by the filter delay."""

    def flush(self) -> bytes:
        """Emit what the filter still holds (end of an utterance) and start afresh."""

    def reset(self) -> None:
        """Drop held samples without emitting them (barge-in)."""


class SoxrStreamResampler:
    """16-bit mono PCM through `soxr.ResampleStream`.

    "LQ" filters aliasing (a must when going down from 24 kHz) while keeping the
    delay to a few milliseconds more than "QQ", which does not filter.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = "LQ") -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._quality = quality
        self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream:
        return soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="int16", quality=self._quality)

    def process(self, pcm16: bytes) -> bytes:
        samples = np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], dtype="<i2")
        return self._stream.resample_chunk(samples).astype("<i2").tobytes()

    def flush(self) -> bytes:
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        self._stream = self._new_stream()
        return tail.astype("<i2").tobytes()

    def reset(self) -> None:
        self._stream = self._new_stream()
