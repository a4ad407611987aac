"""A crude energy voice-activity detector for the simulator's serve mode."""

from __future__ import annotations

from engine.voice.codecs import rms_level

FRAME_MS = 20
START_FRAMES = 3  # 60 ms of sound before speech counts as started


class EnergyVad:
    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = threshold
        self.speaking = False
        self.last_speech_ms = 0
        self._voiced_run = 0
        self._silent_ms = 0
        self._speech_ms = 0
        self._carry = b""

    def feed(self, pcm16: bytes, rate: int, silence_ms: int) -> list[str]:
        """The state changes ("started", "stopped") within this audio, in order."""
        frame_bytes = rate * FRAME_MS // 1000 * 2
        data = self._carry + pcm16
        changes: list[str] = []
        offset = 0
        while offset + frame_bytes <= len(data):
            change = self._frame(rms_level(data[offset : offset + frame_bytes]) >= self.threshold, silence_ms)
            if change:
                changes.append(change)
            offset += frame_bytes
        self._carry = data[offset:]
        return changes

    def _frame(self, voiced: bool, silence_ms: int) -> str | None:
        if not self.speaking:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= START_FRAMES:
                self.speaking, self._speech_ms, self._silent_ms = True, self._voiced_run * FRAME_MS, 0
                return "started"
            return None
        self._speech_ms += FRAME_MS
        self._silent_ms = 0 if voiced else self._silent_ms + FRAME_MS
        if self._silent_ms >= silence_ms:
            self.speaking, self._voiced_run = False, 0
            self.last_speech_ms = self._speech_ms - self._silent_ms
            return "stopped"
        return None
