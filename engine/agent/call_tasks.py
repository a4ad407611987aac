"""The background tasks of one call: named, owned, cancelled together when the call ends."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class CallTasks:
    def __init__(self, call_id: str) -> None:
        self._call_id = call_id
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{name}:{self._call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
