"""Time for the agent runtime, injectable so tests drive it without sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for durations and deadlines."""

    def now(self) -> datetime:
        """Wall-clock time in UTC; for timestamps that get stored."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


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
