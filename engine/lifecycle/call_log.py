"""The TelephonyEventSink over the database: raw PBX events, human-readable call steps, transcript turns.

Adapters call `raw_event`/`call_event` from their event loops, the agent's recorder
`call_event`/`transcript_turn`; all only queue, so a slow or failing database never
holds up (or ends) a live call. A failed write is retried with backoff on the clock for
up to `retry_s`, then dropped; both are logged and counted (`opendeep_call_log_write_failures_total`).
One named writer task drains the queue in order, batching raw events per call
into `db.events.add_ari_events`, and flushes a call's batch when the call ends
(its last channel is destroyed, or a call step of kind "ended"), when the batch
is large, and on close. The owner (user_id) comes from the calls row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from db import events, transcripts
from engine import metrics
from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.agent import TranscriptTurn

log = logging.getLogger(__name__)
BATCH_SIZE = 200
END_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed"})
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 15.0
CLOSE_FLUSH_S = 10.0  # at shutdown, how long queued writes may still take


def _event_time(event: dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            pass
    return datetime.now(UTC)


def _channel_id(event: dict[str, Any]) -> str | None:
    for key in ("channel", "peer", "bridge", "playback"):
        value = event.get(key)
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return value["id"]
    return None


class DatabaseCallLog:
    """Implements engine.ports.telephony.TelephonyEventSink and the agent's CallRecorder
    (engine.ports.call_record); a Node component (start/close)."""

    def __init__(self, pool: asyncpg.Pool, *, clock: Clock = SYSTEM_CLOCK, retry_s: float = 120.0) -> None:
        self.pool = pool
        self.clock = clock
        self.retry_s = retry_s
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._pending: dict[UUID, list[tuple[datetime, str, str | None, dict[str, Any]]]] = {}
        self._owners: dict[UUID, int | None] = {}
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="call-log-writer")

    async def close(self) -> None:
        if self._writer is None:
            return
        try:
            await asyncio.wait_for(self.flush(), CLOSE_FLUSH_S)
        except TimeoutError:
            log.error("call log: the database did not take the queued writes in time; %d dropped", self._queue.qsize())
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    async def raw_event(self, call_id: str, event: dict[str, Any]) -> None:
        self._queue.put_nowait(("raw", (call_id, event)))

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self._queue.put_nowait(("step", (call_id, kind, message, data or {})))

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None:
        self._queue.put_nowait(("turn", (call_id, turn)))

    async def flush(self) -> None:
        """Return once everything queued before this call is in the database."""
        await self._marker("flush")

    async def drained(self) -> None:
        """Return once everything queued before this call was handled (batches may still wait)."""
        await self._marker("drained")

    async def _marker(self, kind: str) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((kind, done))
        await done

    async def _write_loop(self) -> None:
        while True:
            kind, item = await self._queue.get()
            try:
                await self._handle(kind, item)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad event must not stop the log
                log.exception("writing a call log entry failed")
            if kind in ("flush", "drained") and not item.done():
                item.set_result(None)

    async def _handle(self, kind: str, item: Any) -> None:
        if kind == "flush":
            await self._flush_all()
        if kind in ("flush", "drained"):
            return
        call_id = self._call_uuid(item[0])
        if call_id is None:
            return
        if kind == "raw":
            event = item[1]
            batch = self._pending.setdefault(call_id, [])
            batch.append((_event_time(event), str(event.get("type", "?")), _channel_id(event), event))
            if len(batch) >= BATCH_SIZE or (event.get("type") in END_EVENTS and _channel_id(event) == item[0]):
                await self._flush_call(call_id)
            return
        if kind == "turn":
            await self._retrying("transcript_turn", lambda: self._write_turn(call_id, item[1]))
            return
        _, step, message, data = item

        async def write_step() -> None:
            user_id = await self._owner(call_id)
            if user_id is not None:
                await events.add_call_event(self.pool, user_id, call_id, kind=step[:60], message=message[:2000],
                                            data=data)

        await self._retrying("call_event", write_step)
        if step == "ended":
            await self._flush_call(call_id)
            self._owners.pop(call_id, None)

    async def _write_turn(self, call_id: UUID, turn: TranscriptTurn) -> None:
        user_id = self._owners.get(call_id) or await self.pool.fetchval(
            "SELECT user_id FROM calls WHERE id = $1", call_id)  # the last turns come after "ended": not cached
        if user_id is None:
            self.dropped += 1
            return
        await transcripts.add_turn(
            self.pool, user_id, call_id, speaker=turn.speaker, text=turn.text[:20000], started_at=turn.started_at,
            ended_at=turn.ended_at, truncated=turn.truncated,
        )

    async def _retrying(self, what: str, write: Callable[[], Awaitable[None]]) -> None:
        """`write()` until it succeeds, with backoff on the clock, for up to `retry_s`; then dropped."""
        started, delay = self.clock.monotonic(), RETRY_FIRST_S
        while True:
            try:
                await write()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                waited = self.clock.monotonic() - started
                if waited + delay > self.retry_s:
                    metrics.CALL_LOG_WRITE_FAILURES.labels(what=what, result="dropped").inc()
                    log.error("call log: a %s was dropped after %.0f s of failed writes: %r", what, waited, exc)
                    return
                metrics.CALL_LOG_WRITE_FAILURES.labels(what=what, result="retried").inc()
                log.warning("call log: writing a %s failed (%r); retrying in %.1f s", what, exc, delay)
            await self.clock.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _call_uuid(self, call_id: str) -> UUID | None:
        try:
            return UUID(call_id)
        except ValueError:
            self.dropped += 1  # not one of our calls (a foreign channel id)
            return None

    async def _owner(self, call_id: UUID) -> int | None:
        if call_id not in self._owners:
            self._owners[call_id] = await self.pool.fetchval("SELECT user_id FROM calls WHERE id = $1", call_id)
            if self._owners[call_id] is None:
                log.warning("call log: no call %s in the database; its events are dropped", call_id)
        return self._owners[call_id]

    async def _flush_call(self, call_id: UUID) -> None:
        batch = self._pending.pop(call_id, [])
        if not batch:
            return

        async def write() -> None:
            user_id = await self._owner(call_id)
            if user_id is None:
                self.dropped += len(batch)
                return
            await events.add_ari_events(self.pool, user_id, call_id, batch)

        await self._retrying("ari_events", write)

    async def _flush_all(self) -> None:
        for call_id in list(self._pending):
            await self._flush_call(call_id)
