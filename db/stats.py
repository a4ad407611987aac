"""Aggregates for the dashboard's charts (tenant-scoped like every other query)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec

from db.models import Executor


class CampaignOutcomes(msgspec.Struct, kw_only=True):
    campaign_id: UUID | None
    title: str
    counts: dict[str, int]  # task status -> number of tasks


class DayCount(msgspec.Struct, kw_only=True):
    day: date
    counts: dict[str, int]  # call outcome ("live" while not ended) -> number of calls


async def task_outcomes_per_campaign(conn: Executor, user_id: int, *, limit: int = 8) -> list[CampaignOutcomes]:
    """Task statuses of the user's most recent campaigns (tasks without a campaign grouped apart)."""
    records = await conn.fetch(
        """WITH recent AS (
               SELECT id, title, created_at FROM campaigns WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)
           SELECT r.id AS campaign_id, r.title, t.status, count(t.id) AS n, r.created_at
           FROM recent r LEFT JOIN tasks t ON t.campaign_id = r.id AND t.user_id = $1
           GROUP BY r.id, r.title, r.created_at, t.status
           UNION ALL
           SELECT NULL, 'Single tasks', status, count(*), NULL FROM tasks
           WHERE user_id = $1 AND campaign_id IS NULL GROUP BY status
           ORDER BY created_at DESC NULLS LAST""",
        user_id,
        limit,
    )
    grouped: dict[UUID | None, CampaignOutcomes] = {}
    for r in records:
        entry = grouped.setdefault(r["campaign_id"], CampaignOutcomes(campaign_id=r["campaign_id"], title=r["title"], counts={}))
        if r["status"] is not None:
            entry.counts[r["status"]] = r["n"]
    return list(grouped.values())


async def calls_per_day(conn: Executor, user_id: int, *, days: int = 14, time_zone: str = "UTC") -> list[DayCount]:
    """Calls per local day over the last `days` days, split by outcome (empty days included)."""
    records = await conn.fetch(
        """WITH span AS (
               SELECT generate_series((now() AT TIME ZONE $3)::date - ($2 - 1), (now() AT TIME ZONE $3)::date,
                                      interval '1 day')::date AS day)
           SELECT span.day, coalesce(c.outcome, CASE WHEN c.id IS NULL THEN NULL ELSE 'live' END) AS outcome,
                  count(c.id) AS n
           FROM span LEFT JOIN calls c
             ON c.user_id = $1 AND (c.originated_at AT TIME ZONE $3)::date = span.day
           GROUP BY span.day, 2 ORDER BY span.day""",
        user_id,
        days,
        time_zone,
    )
    by_day: dict[date, DayCount] = {}
    for r in records:
        entry = by_day.setdefault(r["day"], DayCount(day=r["day"], counts={}))
        if r["outcome"] is not None:
            entry.counts[r["outcome"]] = r["n"]
    return list(by_day.values())
