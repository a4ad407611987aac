"""The agent's `CallRecorder` over PostgreSQL: transcript turns, call events, metrics."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from db import calls, events, transcripts
from db.models import Executor
from engine.agent.records import CallMetrics, TranscriptTurn


def metrics_as_json(metrics: CallMetrics) -> dict[str, Any]:
    """The call's metrics as stored on `calls.metrics` (the keys the call page shows)."""
    report = {key: value for key, value in dataclasses.asdict(metrics).items() if value is not None}
    latencies = sorted(metrics.turn_latencies_ms)
    if latencies:
        report["turn_latency_ms"] = round(latencies[len(latencies) // 2])
        report["turn_latency_p95_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))])
    return report


class DatabaseCallRecorder:
    """Stores one user's call record; every write is scoped to that user."""

    def __init__(self, db: Executor, user_id: int) -> None:
        self._db = db
        self._user_id = user_id

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None:
        await transcripts.add_turn(
            self._db,
            self._user_id,
            UUID(call_id),
            speaker=turn.speaker,
            text=turn.text[:20000],
            started_at=turn.started_at,
            ended_at=turn.ended_at,
            truncated=turn.truncated,
        )

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        await events.add_call_event(
            self._db, self._user_id, UUID(call_id), kind=kind[:60], message=message[:2000], data=data
        )

    async def final_metrics(self, call_id: str, metrics: CallMetrics) -> None:
        await calls.set_call_metrics(self._db, self._user_id, UUID(call_id), metrics_as_json(metrics))
