"""The test doubles of `engine.clock.Clock`, all in one place.

`ManualClock`: time moves only when a test calls `advance()`.
`SteppingClock`: every sleep moves time on at once (a pacer runs flat out, on exact ticks).
`GatedClock`: time stands still; a sleep ends only when the test releases it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ManualClock:
    """Time moves only when a test calls `advance()`."""

    def __init__(self, start: datetime = START) -> None:
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


class SteppingClock:
    """Time moves only when the code under test sleeps: each sleep adds its seconds at once."""

    def __init__(self, start: float = 100.0) -> None:
        self._t = start

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return START + timedelta(seconds=self._t)

    async def sleep(self, seconds: float) -> None:
        self._t += max(0.0, seconds)
        await asyncio.sleep(0)


class GatedClock:
    """Time passes only when the test lets a sleep end: `await clock.release(which)`."""

    def __init__(self) -> None:
        self.sleeping: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return START

    async def sleep(self, seconds: float) -> None:
        done = asyncio.get_running_loop().create_future()
        self.sleeping.append((seconds, done))
        self._changed.set()
        try:
            await done
        finally:
            self.sleeping.remove((seconds, done))

    async def sleeper(self, which: Callable[[float], bool], timeout: float = 5.0) -> asyncio.Future[None]:
        """The pending sleep whose length `which` accepts (waiting until there is one)."""

        async def find() -> asyncio.Future[None]:
            while True:
                for seconds, done in self.sleeping:
                    if which(seconds) and not done.done():
                        return done
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def release(self, which: Callable[[float], bool]) -> None:
        (await self.sleeper(which)).set_result(None)
