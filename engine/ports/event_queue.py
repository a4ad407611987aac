"""A stream's events read from its queue, in order, up to and including the one that ends it.

What `MediaStream.events()` and `VoiceSession.events()` promise: every event, then the closing one
(`MediaClosed`, `SessionClosed`) last.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

E = TypeVar("E")


async def events_until(queue: asyncio.Queue[E], last: type) -> AsyncIterator[E]:
    """The queue's events in order; the iteration ends after the first one of type `last`."""
    while True:
        event = await queue.get()
        yield event
        if isinstance(event, last):
            return
