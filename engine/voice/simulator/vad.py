"""An energy voice-activity detector on the input audio timeline, configured like `server_vad`.

The service's `threshold` (0..1, default 0.5) is a speech probability; here it scales an
energy gate: a 20 ms frame is voiced when its RMS level reaches `threshold * LEVEL_PER_THRESHOLD`
of full scale (0.02 at the default). Speech starts after `START_FRAMES` voiced frames in a
row; `audio_start_ms` is its first voiced frame minus `prefix_padding_ms` (never before the
last commit). It stops after `silence_duration_ms` of unvoiced frames; `audio_end_ms` is
the end of that silence, as the service reports it. Positions are milliseconds of audio
received, never wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.voice.codecs import rms_level

FRAME_MS = 20
START_FRAMES = 3  # 60 ms of sound before speech counts as started
LEVEL_PER_THRESHOLD = 0.04


@dataclass(frozen=True, slots=True)
class VadSettings:
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    @classmethod
    def from_turn_detection(cls, detection: dict[str, Any]) -> VadSettings:
        """semantic_vad has no knobs for these: it gets server_vad's defaults."""
        if detection.get("type") != "server_vad":
            return cls()
        return cls(
            float(detection.get("threshold") if detection.get("threshold") is not None else 0.5),
            int(detection.get("prefix_padding_ms") if detection.get("prefix_padding_ms") is not None else 300),
            int(detection.get("silence_duration_ms") if detection.get("silence_duration_ms") is not None else 500),
        )


@dataclass(frozen=True, slots=True)
class VadChange:
    kind: str  # "started" | "stopped"
    ms: int  # audio_start_ms for "started", audio_end_ms for "stopped"
    speech_ms: int = 0  # for "stopped": first to last voiced frame


class EnergyVad:
    """Feed it whole 20 ms frames with their position; it reports where speech starts and stops."""

    def __init__(self) -> None:
        self.speaking = False
        self.segment_start_ms = 0  # the last commit: speech is never dated before it
        self._voiced_run = 0
        self._onset_ms = 0
        self._start_ms = 0
        self._last_voiced_end_ms = 0

    def frame(self, pcm16: bytes, end_ms: int, settings: VadSettings) -> VadChange | None:
        """One frame of audio ending at `end_ms` on the input timeline."""
        voiced = rms_level(pcm16) >= settings.threshold * LEVEL_PER_THRESHOLD
        if not self.speaking:
            if not voiced:
                self._voiced_run = 0
                return None
            if self._voiced_run == 0:
                self._onset_ms = end_ms - FRAME_MS
            self._voiced_run += 1
            if self._voiced_run < START_FRAMES:
                return None
            self.speaking = True
            self._last_voiced_end_ms = end_ms
            self._start_ms = max(self.segment_start_ms, self._onset_ms - settings.prefix_padding_ms)
            return VadChange("started", self._start_ms)
        if voiced:
            self._last_voiced_end_ms = end_ms
            return None
        if end_ms - self._last_voiced_end_ms < settings.silence_duration_ms:
            return None
        self.speaking, self._voiced_run = False, 0
        self.segment_start_ms = end_ms
        return VadChange("stopped", end_ms, self._last_voiced_end_ms - self._onset_ms)

    def reset(self, position_ms: int) -> None:
        """The buffer was committed or cleared by the client at `position_ms`."""
        self.speaking, self._voiced_run = False, 0
        self.segment_start_ms = position_ms
