"""The test double of `engine.clock.Clock`: time moves only when a test says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class ManualClock:
    """Time moves only when a test calls `advance()`."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self._t = 0.0
        self._start = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Condition()

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._t + seconds, future)
        self._sleepers.append(entry)
        async with self._changed:
            self._changed.notify_all()
        try:
            await future
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        self._t += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self._t + 1e-9 and not future.done():
                future.set_result(None)

    async def wait_sleepers(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` sleeps are pending (the code under test is waiting on time)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: sum(not f.done() for _, f in self._sleepers) >= count), timeout
            )
