"""The event loop OpenDeep runs on: uvloop where it is built (Linux, macOS), asyncio's own elsewhere.

Every call moves a 20 ms frame each way through the loop, so the loop's own cost per
callback, future and socket read is a large part of the engine's CPU per call; uvloop's
is lower (see README, Performance). `opendeep` commands, the benchmark's engine and the
test suite (tests/conftest.py) all take their loop from here, so the tests run on the
loop the product runs on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # pragma: no cover - not built for Windows
    uvloop = None

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
