"""Silence for the agent while the PBX sends no callee audio.

Asterisk writes nothing to a media channel while the far end sends nothing (a
Local callee in WaitForNoise, a trunk suppressing silence), over chan_websocket
and AudioSocket alike (seen on 23.4.1). Voice-activity detection must hear the
silence to end the callee's turn, so after `GAP_FILL_AFTER_S` without audio the
agent is handed 20 ms of silence per 20 ms of gap until audio flows again.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.clock import Clock
from engine.ports.telephony import AudioFormat

GAP_FILL_AFTER_S = 0.1
FRAME_S = 0.02
FILL_EVERY_S = 0.06  # in a gap, silence is handed over 60 ms (three frames) at a time
_TICK_SLACK_S = 1e-6  # five 20 ms ticks are 100 ms, whatever float addition says


def silent_frame(fmt: AudioFormat) -> bytes:
    """20 ms of silence in the format the agent is fed (μ-law silence is 0xFF)."""
    return (b"\xff" if fmt is AudioFormat.ULAW else b"\x00") * fmt.frame_bytes


class SilenceGaps:
    """Decides, tick by tick, when the agent should be handed a silent frame."""

    def __init__(self, fmt: AudioFormat, now: float, after_s: float = GAP_FILL_AFTER_S) -> None:
        self.silence = silent_frame(fmt)
        self._after = after_s
        self._last_audio = now

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
        gap, given = None, 0
        while True:
            now = clock.monotonic()
            start = self._last_audio + self._after
            if now < start - _TICK_SLACK_S:
                await clock.sleep(max(FRAME_S, start - now))
                continue
            if gap != start:
                gap, given = start, 0
            owed = int((now - start + _TICK_SLACK_S) / FRAME_S) + 1 - given
            if owed > 0:
                emit(self.silence * owed)
                given += owed
            await clock.sleep(every_s)
