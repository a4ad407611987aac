"""Where time comes from, injected everywhere so pacing, timeouts and "now" can be driven by tests.

One protocol for the whole project: wall-clock `now()` for what gets stored,
`monotonic()` for durations and deadlines, `sleep()` for waiting; `within()`
bounds an awaitable on the same clock, and a `Deadline` calls back when the clock reaches it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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


class Deadline:
    """Calls `fire` once `clock` reaches a deadline that may be moved while it waits: one named task
    while armed (moving the deadline does not make another), cancelled by `cancel()`."""

    def __init__(self, clock: Clock, fire: Callable[[], None], name: str) -> None:
        self._clock = clock
        self._fire = fire
        self._name = name
        self._due: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def armed(self) -> bool:
        return self._due is not None

    def at(self, due: float) -> None:
        """Fire at `due` on the clock's monotonic time (soon when it has passed)."""
        earlier = self._due is not None and due < self._due
        self._due = due
        if earlier and self._task is not None:  # its sleep would end too late
            self._task.cancel()
            self._task = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._wait(), name=self._name)

    def cancel(self) -> None:
        self._due = None
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None

    async def _wait(self) -> None:
        while self._due is not None and (left := self._due - self._clock.monotonic()) > 1e-9:
            await self._clock.sleep(left)
        if self._due is not None:
            self._due, self._task = None, None
            self._fire()
