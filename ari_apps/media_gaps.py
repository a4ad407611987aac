"""Silence for the agent while the PBX sends no callee audio.

Asterisk writes nothing to a media channel while the far end sends nothing (a
Local callee in WaitForNoise, a trunk suppressing silence), over chan_websocket
and AudioSocket alike (seen on 23.4.1). Voice-activity detection must hear the
silence to end the callee's turn, so after `GAP_FILL_AFTER_S` without audio the
agent is handed 20 ms of silence per 20 ms of gap until audio flows again.

The chan_websocket streams of one adapter share one `SilenceTicker` (one timer for
all their gaps instead of one wake-up per call every 60 ms); a stream without one
runs `SilenceGaps.run`, a timer of its own.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from engine.clock import Clock
from engine.ports.telephony import AudioFormat

GAP_FILL_AFTER_S = 0.1
FRAME_S = 0.02
FILL_EVERY_S = 0.06  # in a gap, silence is handed over 60 ms (three frames) at a time
_TICK_SLACK_S = 1e-6  # five 20 ms ticks are 100 ms, whatever float addition says

log = logging.getLogger(__name__)


def silent_frame(fmt: AudioFormat) -> bytes:
    """20 ms of silence in the format the agent is fed (μ-law silence is 0xFF)."""
    return (b"\xff" if fmt is AudioFormat.ULAW else b"\x00") * fmt.frame_bytes


class SilenceGaps:
    """Decides, tick by tick, when the agent should be handed a silent frame."""

    def __init__(self, fmt: AudioFormat, now: float, after_s: float = GAP_FILL_AFTER_S) -> None:
        self.silence = silent_frame(fmt)
        self._after = after_s
        self._last_audio = now
        self._gap: float | None = None  # when the current gap started
        self._given = 0  # silent frames handed over in it

    def heard(self, now: float) -> None:
        """Callee audio arrived."""
        self._last_audio = now

    def due(self, now: float) -> bytes | None:
        """The silent frame to hand over at this 20 ms tick, or None while audio flows."""
        return self.silence if now - self._last_audio >= self._after - _TICK_SLACK_S else None

    async def run(self, clock: Clock, emit: Callable[[bytes], None], every_s: float = FILL_EVERY_S) -> None:
        """A timer of its own, for a stream that has no pacer to share. While audio flows it sleeps
        until a gap could start; in a gap it wakes every `every_s` and hands over, in one piece, a
        silent frame per 20 ms of gap so far (the first at the gap's start), so the agent gets
        silence at the media rate with a third of the wake-ups and of the events."""
        while True:
            now = clock.monotonic()
            start = self._last_audio + self._after
            if now < start - _TICK_SLACK_S:
                await clock.sleep(max(FRAME_S, start - now))
                continue
            self.fill(now, emit)
            await clock.sleep(every_s)

    @property
    def gap_starts_at(self) -> float:
        """When silence is due if no more audio comes."""
        return self._last_audio + self._after

    def fill(self, now: float, emit: Callable[[bytes], None]) -> bool:
        """Hand over, in one piece, the silent frames owed for the gap so far; False while audio flows."""
        start = self._last_audio + self._after
        if now < start - _TICK_SLACK_S:
            return False
        if self._gap != start:
            self._gap, self._given = start, 0
        owed = int((now - start + _TICK_SLACK_S) / FRAME_S) + 1 - self._given
        if owed > 0:
            emit(self.silence * owed)
            self._given += owed
        return True


class SilenceTicker:
    """One timer for the gaps of many streams: every `every_s` while any stream is in a gap (else
    when the first gap can begin), each stream's `SilenceGaps.fill`; a gap's first silence comes at
    most `every_s` after it began."""

    def __init__(self, clock: Clock, every_s: float = FILL_EVERY_S) -> None:
        self._clock = clock
        self._every = every_s
        self._streams: dict[SilenceGaps, Callable[[bytes], None]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, gaps: SilenceGaps, emit: Callable[[bytes], None]) -> None:
        self._streams[gaps] = emit
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="media-ws-silence-ticker")

    def remove(self, gaps: SilenceGaps) -> None:
        self._streams.pop(gaps, None)

    async def close(self) -> None:
        self._streams.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while self._streams:
            now = self._clock.monotonic()
            in_gap, first_gap = False, math.inf
            for gaps, emit in list(self._streams.items()):
                try:
                    in_gap = gaps.fill(now, emit) or in_gap
                except Exception:  # one call's failure must not silence the others
                    log.exception("silence fill failed; that stream is dropped from the ticker")
                    self._streams.pop(gaps, None)
                    continue
                first_gap = min(first_gap, gaps.gap_starts_at)
            await self._clock.sleep(self._every if in_gap else max(FRAME_S, first_gap - now))
