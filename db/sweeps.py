"""System queries of the lifecycle sweeps (all tenants; every row carries its user_id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from db.models import Executor, Task, columns

TERMINAL = ("succeeded", "failed", "cancelled", "blocked_dnd")


async def tasks_waiting_for_user_since(conn: Executor, cutoff: datetime) -> list[Task]:
    """Tasks waiting for their owner's answer since before `cutoff`, not yet reminded in this wait."""
    records = await conn.fetch(
        f"""SELECT {columns(Task, "t")} FROM tasks t
            WHERE t.status = 'pending_user_info' AND t.updated_at < $1
              AND NOT EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.kind = 'reminder'
                              AND e.at >= t.updated_at)""",
        cutoff,
    )
    return [Task.from_record(r) for r in records]


async def tasks_failing_repeatedly(conn: Executor, min_attempts: int) -> list[Task]:
    """Tasks waiting for a retry after `min_attempts`+ attempts, with no strategy note since their last call."""
    records = await conn.fetch(
        f"""SELECT {columns(Task, "t")} FROM tasks t
            WHERE t.status = 'retry_scheduled' AND t.attempt_count >= $1
              AND NOT EXISTS (
                  SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.kind = 'strategy'
                  AND e.at >= (SELECT max(c.originated_at) FROM calls c WHERE c.task_id = t.id))""",
        min_attempts,
    )
    return [Task.from_record(r) for r in records]


async def call_history(conn: Executor, user_id: int, task_id: UUID) -> list[dict[str, Any]]:
    records = await conn.fetch(
        """SELECT attempt, originated_at, outcome, verdict, verdict_reason FROM calls
           WHERE task_id = $1 AND user_id = $2 ORDER BY attempt, originated_at""",
        task_id,
        user_id,
    )
    return [dict(r) for r in records]


async def campaigns_ready_to_finish(conn: Executor) -> list[tuple[int, UUID]]:
    """Active campaigns that have tasks and none of them still open: (user_id, campaign_id)."""
    records = await conn.fetch(
        """SELECT c.user_id, c.id FROM campaigns c
           WHERE c.status = 'active'
             AND EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.id)
             AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.id
                             AND t.status <> ALL($1::text[]))""",
        list(TERMINAL),
    )
    return [(r["user_id"], r["id"]) for r in records]


async def campaign_task_rows(conn: Executor, user_id: int, campaign_id: UUID) -> list[dict[str, Any]]:
    """One row per task of the campaign with its last call's outcome and verdict reason."""
    records = await conn.fetch(
        """SELECT t.id AS task_id, t.callee_name, t.phone_number, t.objective, t.status, t.attempt_count,
                  t.max_attempts, t.failure_reason, t.result, last.outcome AS last_outcome,
                  last.verdict AS last_verdict, last.verdict_reason
           FROM tasks t
           LEFT JOIN LATERAL (SELECT outcome, verdict, verdict_reason FROM calls c
                              WHERE c.task_id = t.id ORDER BY c.attempt DESC, c.originated_at DESC LIMIT 1)
                last ON true
           WHERE t.campaign_id = $1 AND t.user_id = $2
           -- a plan's tasks share created_at (one transaction); their creation events keep plan order
           ORDER BY t.created_at, (SELECT min(e.id) FROM task_events e WHERE e.task_id = t.id), t.id""",
        campaign_id,
        user_id,
    )
    return [dict(r) for r in records]
