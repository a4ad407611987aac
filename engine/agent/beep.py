"""The beep that ends a voicemail greeting, found in the callee's audio.

A beep is a steady pure tone: in every 20 ms frame nearly all the energy sits in
one narrow peak between about 1 and 2 kHz, the peak stays put from frame to
frame, and the tone lasts 0.2 to 1 s. Speech fails all three tests (many
harmonics, moving pitch, formants), silence fails the level test. A beep stands
alone: a tone that steps straight into another tone, or follows one, is part of
a sequence (the network's SIT intercept tones: engine.agent.intercept), not a
beep. The detector reports a beep when it ends, which is when a message should start.
"""

from __future__ import annotations

import numpy as np

from engine.agent import levels
from engine.ports.telephony import AudioFormat

FRAME_MS = 20
PAD = 4  # zero-padding factor of the FFT: finer peak frequency
MAIN_LOBE_BINS = 2 * PAD  # a Hann window's main lobe, in padded bins, either side of the peak
SEQUENCE_GAP_FRAMES = 3  # a tone this close after another belongs to a sequence, not a beep


class BeepDetector:
    @classmethod
    def for_media(cls, fmt: AudioFormat) -> BeepDetector:
        """A detector for the call's media format (mu-law at 8 kHz, or 16-bit PCM at 16 kHz)."""
        return cls(8000 if fmt is AudioFormat.ULAW else 16000, ulaw=fmt is AudioFormat.ULAW)

    def __init__(
        self,
        rate: int,
        *,
        low_hz: float = 900.0,
        high_hz: float = 2100.0,
        min_ms: int = 200,
        max_ms: int = 1000,
        level: float = 0.01,  # RMS, of full scale
        purity: float = 0.85,  # share of the frame's energy in the peak
        drift_hz: float = 40.0,  # how far the peak may move between frames
        ulaw: bool = False,  # `feed` gets mu-law bytes instead of 16-bit PCM
    ) -> None:
        self.rate = rate
        self._ulaw = ulaw
        self._n = rate * FRAME_MS // 1000
        self._window = np.hanning(self._n)
        self._nfft = self._n * PAD
        self._low, self._high = low_hz, high_hz
        self._min_frames, self._max_frames = min_ms // FRAME_MS, max_ms // FRAME_MS
        self._level, self._purity, self._drift = level, purity, drift_hz
        self._carry = np.zeros(0, dtype=np.float64)
        self._quiet_codes = levels.quiet_ulaw_codes(level) if ulaw else None
        self._run = 0  # tonal frames in a row
        self._run_hz = 0.0
        self._in_sequence = False  # the current run began (almost) where another tone ended
        self._since_tone = SEQUENCE_GAP_FRAMES + 1  # non-tonal frames since the last tone ended
        self._candidate: tuple[int, float] | None = None  # a beep-like run that ended, if no tone follows
        self.last_beep_hz: float | None = None
        self.last_beep_ms = 0

    def feed(self, audio: bytes) -> bool:
        """Add audio at `rate` (16-bit little-endian PCM, or mu-law); True when a beep ended within it."""
        quiet = 0 if len(self._carry) else levels.quiet_frames(audio, self._quiet_codes, self._n)
        if quiet:  # every sample quiet: no tone
            return any([self._step(None) for _ in range(quiet)])
        samples = levels.samples(audio, AudioFormat.ULAW if self._ulaw else AudioFormat.SLIN16)
        data = np.concatenate((self._carry, samples)) if len(self._carry) else samples
        whole = len(data) - len(data) % self._n
        self._carry = data[whole:]
        ended = False
        for start in range(0, whole, self._n):
            ended = self._frame(data[start : start + self._n]) or ended
        return ended

    def _frame(self, frame: np.ndarray) -> bool:
        return self._step(self._tone_hz(frame))

    def _step(self, hz: float | None) -> bool:
        """One 20 ms frame further, in which the tone of `hz` (None: no tone) was heard."""
        if hz is not None:
            if self._run and abs(hz - self._run_hz) <= self._drift:
                self._run += 1
                return False
            # a new tone: straight after another one, or within a few frames of it, makes a sequence
            self._in_sequence = self._run > 0 or self._since_tone <= SEQUENCE_GAP_FRAMES
            self._candidate = None
            self._run, self._run_hz = 1, hz
            return False
        if self._run:  # a tone just ended into quiet or speech
            if not self._in_sequence and self._min_frames <= self._run <= self._max_frames:
                self._candidate = (self._run, self._run_hz)
            self._run, self._since_tone = 0, 0
            return False
        self._since_tone += 1
        if self._candidate is not None and self._since_tone > SEQUENCE_GAP_FRAMES:
            run, run_hz = self._candidate
            self._candidate = None
            self.last_beep_hz, self.last_beep_ms = run_hz, run * FRAME_MS
            return True
        return False

    def _tone_hz(self, frame: np.ndarray) -> float | None:
        """The frame's frequency if it is a loud, pure tone in the beep band; else None."""
        if float(np.dot(frame, frame)) < self._level * self._level * len(frame):  # RMS below the level
            return None
        # array methods and ufuncs: the np.* wrappers cost more than the work on 160 samples
        power = np.square(np.abs(np.fft.rfft(frame * self._window, self._nfft)))
        total = float(np.add.reduce(power))
        peak = int(power.argmax())
        hz = peak * self.rate / self._nfft
        if not self._low <= hz <= self._high or total <= 0:
            return None
        lobe = float(np.add.reduce(power[max(0, peak - MAIN_LOBE_BINS) : peak + MAIN_LOBE_BINS + 1]))
        return hz if lobe / total >= self._purity else None
