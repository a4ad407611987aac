"""Special information tones (SIT): the phone network's "this number cannot be reached" intercept.

An intercept answers the call, then plays three rising tones before a recording ("the number
you have dialed is not in service"): about 913.8 (or 985.2) Hz, 1370.6 (or 1428.5) Hz and
1776.7 Hz, of about 274, 274 and 380 ms (ITU-T E.180 / ANSI T1.401 segment lengths 276 and
380 ms). `SitDetector` is pure: it is fed the callee's audio (16-bit PCM, or the wire's mu-law)
in any chunk size and says when the three segments have been heard, in order, each long enough.

Each 20 ms block is measured at the SIT frequencies by a single-bin DFT (one matrix product
with their cosines and sines): a block belongs to segment k when one of k's frequencies holds
most of the block's energy. Speech spreads its energy over many harmonics, so it never does for
long; and the detector also requires the three segments in order with at most a short gap. A
mu-law chunk whose every sample is quieter than the silence level is counted as silence without
decoding it (one `bytes.translate`).
"""

from __future__ import annotations

import numpy as np

from engine.agent import levels
from engine.ports.telephony import AudioFormat

BLOCK_MS = 20
SEGMENT_FREQUENCIES_HZ: tuple[tuple[float, ...], ...] = ((913.8, 985.2), (1370.6, 1428.5), (1776.7,))
MIN_SEGMENT_MS = 180  # shortest run of blocks counted as one segment (274 ms, less the two edge blocks)
MAX_SEGMENT_MS = 520  # longest (380 ms, with room)
MAX_GAP_MS = 60  # between two segments: edge blocks that mix two tones
DOMINANCE = 0.6  # share of a block's energy at one SIT frequency
MIN_RMS = 200 / 32768  # quieter blocks are silence, not tone (of full scale: 200 in 16-bit PCM)


class SitDetector:
    """Feed mono audio at `sample_rate` (16-bit little-endian PCM, or mu-law with `ulaw`);
    `detected` turns True on a SIT sequence."""

    @classmethod
    def for_media(cls, fmt: AudioFormat) -> SitDetector:
        """A detector for the call's media format (mu-law at 8 kHz, or 16-bit PCM at 16 kHz)."""
        return cls(fmt.sample_rate, ulaw=fmt is AudioFormat.ULAW)

    def __init__(self, sample_rate: int = 8000, *, ulaw: bool = False) -> None:
        self.sample_rate = sample_rate
        self.block = sample_rate * BLOCK_MS // 1000
        self._format = AudioFormat.ULAW if ulaw else AudioFormat.SLIN16  # how the bytes decode (any 16-bit PCM)
        self._block_bytes = self.block if ulaw else 2 * self.block
        self._quiet_codes = levels.quiet_ulaw_codes(MIN_RMS) if ulaw else None
        turns = 2 * np.pi * np.outer([f for segment in SEGMENT_FREQUENCIES_HZ for f in segment], np.arange(self.block))
        self._basis = np.vstack([np.cos(turns / sample_rate), np.sin(turns / sample_rate)])  # real, then imaginary
        self._frequencies = len(turns)
        self._segment_of = [i + 1 for i, segment in enumerate(SEGMENT_FREQUENCIES_HZ) for _ in segment]
        self._carry = np.zeros(0, dtype=np.float64)
        self._label = 0  # segment of the current run of blocks (0: none)
        self._run = 0  # blocks in the current run
        self._stage = 0  # segments heard in order so far
        self.detected = False
        self.heard_ms = 0

    def feed(self, audio: bytes) -> bool:
        """Add audio; True once the three segments have been heard (and from then on)."""
        if self.detected:
            return True
        quiet = 0 if len(self._carry) else levels.quiet_frames(audio, self._quiet_codes, self._block_bytes)
        for _ in range(quiet):  # every sample quiet: silence, no decoding
            self._add_block(0)
            self.heard_ms += BLOCK_MS
        if quiet:
            return False
        samples = levels.samples(audio, self._format)
        if len(self._carry):
            samples = np.concatenate((self._carry, samples))
        whole = len(samples) // self.block * self.block
        self._carry = samples[whole:]
        for start in range(0, whole, self.block):
            self._add_block(self.classify(samples[start : start + self.block]))
            self.heard_ms += BLOCK_MS
            if self.detected:
                break
        return self.detected

    def classify(self, block: np.ndarray) -> int:
        """The SIT segment (1, 2, 3) whose tone dominates this block (float samples, 1.0 full scale), or 0."""
        energy = float(np.dot(block, block))
        if energy <= 0 or energy < MIN_RMS * MIN_RMS * len(block):
            return 0
        parts = self._basis @ block
        parts *= parts
        power = parts[: self._frequencies] + parts[self._frequencies :]  # |DFT|^2 at each SIT frequency
        best = int(power.argmax())  # the method: np.argmax's wrapper costs more than the search
        # 2|X|^2/N is the energy of the block's sinusoid at that frequency: 1.0 of `energy` for a pure tone
        return self._segment_of[best] if power[best] * 2 >= DOMINANCE * len(block) * energy else 0

    def _add_block(self, label: int) -> None:
        if label == self._label:
            self._run += 1
        else:
            self._close_run()
            self._label, self._run = label, 1
        if self._stage == 2 and self._label == 3 and self._run * BLOCK_MS >= MIN_SEGMENT_MS:
            self.detected = True  # no need to wait for the last tone to end

    def _close_run(self) -> None:
        ms = self._run * BLOCK_MS
        if self._label == 0:
            if ms > MAX_GAP_MS:
                self._stage = 0
            return
        in_range = MIN_SEGMENT_MS <= ms <= MAX_SEGMENT_MS
        if in_range and self._label == self._stage + 1:
            self._stage += 1
        elif in_range and self._label == 1:
            self._stage = 1
        else:
            self._stage = 0
