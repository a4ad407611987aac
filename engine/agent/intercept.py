"""Special information tones (SIT): the phone network's "this number cannot be reached" intercept.

An intercept answers the call, then plays three rising tones before a recording ("the number
you have dialed is not in service"): about 913.8 (or 985.2) Hz, 1370.6 (or 1428.5) Hz and
1776.7 Hz, of about 274, 274 and 380 ms (ITU-T E.180 / ANSI T1.401 segment lengths 276 and
380 ms). `SitDetector` is pure: it is fed the callee's PCM16 audio in any chunk size and
says when the three segments have been heard, in order, each long enough.

Each 20 ms block is measured at the SIT frequencies by a single-bin DFT (Goertzel's sum,
vectorised with numpy): a block belongs to segment k when one of k's frequencies holds most
of the block's energy. Speech spreads its energy over many harmonics, so it never does for
long; and the detector also requires the three segments in order with at most a short gap.
"""

from __future__ import annotations

import numpy as np

BLOCK_MS = 20
SEGMENT_FREQUENCIES_HZ: tuple[tuple[float, ...], ...] = ((913.8, 985.2), (1370.6, 1428.5), (1776.7,))
MIN_SEGMENT_MS = 180  # shortest run of blocks counted as one segment (274 ms, less the two edge blocks)
MAX_SEGMENT_MS = 520  # longest (380 ms, with room)
MAX_GAP_MS = 60  # between two segments: edge blocks that mix two tones
DOMINANCE = 0.6  # share of a block's energy at one SIT frequency
MIN_RMS = 200.0  # quieter blocks are silence, not tone (PCM16 units)


class SitDetector:
    """Feed PCM16 (little-endian, mono) at `sample_rate`; `detected` turns True on a SIT sequence."""

    def __init__(self, sample_rate: int = 8000) -> None:
        self.sample_rate = sample_rate
        self.block = sample_rate * BLOCK_MS // 1000
        n = np.arange(self.block)
        freqs = [f for segment in SEGMENT_FREQUENCIES_HZ for f in segment]
        self._segment_of = [i + 1 for i, segment in enumerate(SEGMENT_FREQUENCIES_HZ) for _ in segment]
        self._basis = np.exp(-2j * np.pi * np.outer(freqs, n) / sample_rate)  # one row per frequency
        self._carry = np.zeros(0, dtype=np.float64)
        self._label = 0  # segment of the current run of blocks (0: none)
        self._run = 0  # blocks in the current run
        self._stage = 0  # segments heard in order so far
        self.detected = False
        self.heard_ms = 0

    def feed(self, pcm16: bytes) -> bool:
        """Add audio; True once the three segments have been heard (and from then on)."""
        if self.detected:
            return True
        samples = np.concatenate([self._carry, np.frombuffer(pcm16, dtype="<i2").astype(np.float64)])
        whole = len(samples) // self.block * self.block
        self._carry = samples[whole:]
        for start in range(0, whole, self.block):
            self._add_block(self.classify(samples[start : start + self.block]))
            self.heard_ms += BLOCK_MS
            if self.detected:
                break
        return self.detected

    def classify(self, block: np.ndarray) -> int:
        """The SIT segment (1, 2, 3) whose tone dominates this block, or 0."""
        energy = float(np.dot(block, block))
        if energy <= 0 or np.sqrt(energy / len(block)) < MIN_RMS:
            return 0
        power = np.abs(self._basis @ block) ** 2 * 2 / (len(block) * energy)  # 1.0: a pure tone at that frequency
        best = int(np.argmax(power))
        return self._segment_of[best] if power[best] >= DOMINANCE else 0

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
