"""Silence for the agent while the PBX sends no callee audio.

Asterisk writes nothing to a media channel while the far end sends nothing (a
Local callee in WaitForNoise, a trunk suppressing silence), over chan_websocket
and AudioSocket alike (seen on 23.4.1). Voice-activity detection must hear the
silence to end the callee's turn, so after `GAP_FILL_AFTER_S` without audio the
agent is handed one silent frame per 20 ms until audio flows again.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.clock import Clock
from engine.ports.telephony import AudioFormat

GAP_FILL_AFTER_S = 0.1
FRAME_S = 0.02
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

    async def run(self, clock: Clock, emit: Callable[[bytes], None]) -> None:
        """A timer of its own, for a stream that has no pacer to share: while audio flows it
        sleeps until a gap could be due (not every 20 ms); in a gap it ticks every 20 ms."""
        while True:
            wait = self._last_audio + self._after - clock.monotonic()
            await clock.sleep(max(FRAME_S, wait))
            frame = self.due(clock.monotonic())
            if frame is not None:
                emit(frame)
