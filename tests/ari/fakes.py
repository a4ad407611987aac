"""Test doubles for the engine side of the Telephony port."""

from __future__ import annotations

import asyncio
from typing import Any


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
