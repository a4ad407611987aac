"""Where time comes from, injected everywhere so pacing, timeouts and "now" can be driven by tests.

One protocol for the whole project: wall-clock `now()` for what gets stored,
`monotonic()` for durations and deadlines, `sleep()` for waiting; `within()`
bounds an awaitable on the same clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware (UTC); for timestamps that get stored."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for durations and deadlines."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()


async def within(clock: Clock, awaitable: Awaitable[Any], timeout_s: float) -> bool:
    """Await on `clock`'s time; False when `timeout_s` passed first (the work is then cancelled)."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(timeout_s))
    try:
        await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        return work.done() and not work.cancelled()
    finally:
        for future in (work, timer):
            if not future.done():
                future.cancel()
