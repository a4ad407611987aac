"""Between the call's media format and what the model speaks.

mu-law media talks `audio/pcmu` to the model and passes through untouched;
16 kHz linear media talks `audio/pcm` at 24 kHz through one streaming
resampler per direction.
"""

from __future__ import annotations

from typing import Any

from engine.ports.telephony import AudioFormat
from engine.voice.resample import Resampler, SoxrStreamResampler

MODEL_PCM_RATE = 24000


class AudioBridge:
    def __init__(self, media_format: AudioFormat, *, quality: str = "LQ") -> None:
        self.media_format = media_format
        self._upsampler: Resampler | None = None
        self._downsampler: Resampler | None = None
        if media_format is AudioFormat.SLIN16:
            self._upsampler = SoxrStreamResampler(media_format.sample_rate, MODEL_PCM_RATE, quality)
            self._downsampler = SoxrStreamResampler(MODEL_PCM_RATE, media_format.sample_rate, quality)

    @property
    def model_format(self) -> dict[str, Any]:
        """The GA `audio.*.format` object for both directions."""
        if self.media_format is AudioFormat.ULAW:
            return {"type": "audio/pcmu"}
        return {"type": "audio/pcm", "rate": MODEL_PCM_RATE}

    @property
    def model_bytes_per_ms(self) -> int:
        return 8 if self.media_format is AudioFormat.ULAW else MODEL_PCM_RATE * 2 // 1000

    def to_model(self, media_audio: bytes) -> bytes:
        return self._upsampler.process(media_audio) if self._upsampler else media_audio

    def from_model(self, model_audio: bytes) -> bytes:
        return self._downsampler.process(model_audio) if self._downsampler else model_audio

    def end_of_output(self) -> bytes:
        """The tail the output filter still holds, once an utterance is complete."""
        return self._downsampler.flush() if self._downsampler else b""

    def drop_output(self) -> None:
        """Forget held output samples (the utterance was interrupted)."""
        if self._downsampler:
            self._downsampler.reset()
