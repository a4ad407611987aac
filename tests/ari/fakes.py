"""Test doubles for the engine side of the Telephony port, and a transport writer that stamps writes."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.clock import Clock


class RecordingSink:
    """A TelephonyEventSink that keeps everything it is told."""

    def __init__(self) -> None:
        self.raw: list[tuple[str, dict[str, Any]]] = []
        self.steps: list[tuple[str, str, str]] = []

    async def raw_event(self, call_id: str, event: dict[str, Any]) -> None:
        self.raw.append((call_id, event))

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self.steps.append((call_id, kind, message))

    def kinds(self, call_id: str) -> list[str]:
        return [kind for cid, kind, _ in self.steps if cid == call_id]

    def event_types(self, call_id: str) -> list[str]:
        return [event["type"] for cid, event in self.raw if cid == call_id]


async def collect_until(stream, predicate, timeout: float = 5.0) -> list:
    """Read media events until predicate(events) holds (or the stream closes)."""
    seen: list = []

    async def _read() -> None:
        async for event in stream.events():
            seen.append(event)
            if predicate(seen):
                return

    await asyncio.wait_for(_read(), timeout)
    return seen


class StampingWriter:
    """An AudioSocket transport that keeps every write with the clock's `monotonic()` at the time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.writes: list[tuple[float, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append((self.clock.monotonic(), data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
