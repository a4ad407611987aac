"""The call's inbox: every media and voice event, in order, for the one loop that handles them.

Each callee frame and model event passes through it, so it is a deque and one waiter
future (created only when the loop has caught up and waits), without `asyncio.Queue`'s
bookkeeping for bounded sizes, several getters and `join()`.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any


class Inbox:
    def __init__(self) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        """The oldest item, waiting for one if there is none (one getter at a time)."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
