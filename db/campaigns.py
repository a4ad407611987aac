"""Campaigns: a confirmed plan, grouping the tasks it created."""

from __future__ import annotations

from uuid import UUID

from db.errors import NotFound
from db.models import Campaign, Executor, columns
from db.notify import publish
from db.validation import check_choice, check_length

CAMPAIGN_STATUSES = ("active", "completed", "cancelled")
_CAMPAIGN = columns(Campaign)


async def create_campaign(conn: Executor, user_id: int, *, title: str, request: str = "") -> Campaign:
    check_length("title", title, 200, required=True)
    check_length("request", request, 10000)
    record = await conn.fetchrow(
        f"INSERT INTO campaigns (user_id, title, request) VALUES ($1, $2, $3) RETURNING {_CAMPAIGN}",
        user_id,
        title.strip(),
        request,
    )
    return Campaign.from_record(record)


# With the user's id, the advisory lock that serialises one user's campaign creation (the daily quota).
CAMPAIGN_QUOTA_LOCK_KEY = 0x0DEE_CA3F


async def lock_user_campaigns(conn: Executor, user_id: int) -> None:
    """Hold the user's campaign-creation lock until the transaction ends (count-then-insert is then atomic)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", CAMPAIGN_QUOTA_LOCK_KEY, user_id)


async def count_recent_campaigns(conn: Executor, user_id: int) -> int:
    """How many campaigns the user created in the last 24 hours (the daily quota)."""
    return await conn.fetchval(
        "SELECT count(*) FROM campaigns WHERE user_id = $1 AND created_at > now() - interval '1 day'", user_id
    )


async def get_campaign(conn: Executor, user_id: int, campaign_id: UUID) -> Campaign:
    record = await conn.fetchrow(
        f"SELECT {_CAMPAIGN} FROM campaigns WHERE id = $1 AND user_id = $2", campaign_id, user_id
    )
    if record is None:
        raise NotFound("campaign", campaign_id)
    return Campaign.from_record(record)


async def list_campaigns(conn: Executor, user_id: int, *, limit: int = 100, offset: int = 0) -> list[Campaign]:
    records = await conn.fetch(
        f"""SELECT {_CAMPAIGN} FROM campaigns WHERE user_id = $1
            ORDER BY created_at DESC LIMIT $2 OFFSET $3""",
        user_id,
        limit,
        offset,
    )
    return [Campaign.from_record(r) for r in records]


async def finish_campaign(
    conn: Executor, user_id: int, campaign_id: UUID, *, status: str, summary: str
) -> Campaign:
    """Close an active campaign with its summary; a campaign is finished once."""
    check_choice("status", status, ("completed", "cancelled"))
    check_length("summary", summary, 20000)
    record = await conn.fetchrow(
        f"""UPDATE campaigns SET status = $3, summary = $4, completed_at = now()
            WHERE id = $1 AND user_id = $2 AND status = 'active' RETURNING {_CAMPAIGN}""",
        campaign_id,
        user_id,
        status,
        summary,
    )
    if record is None:
        raise NotFound("active campaign", campaign_id)
    await publish(conn, "campaign", user_id, campaign_id=campaign_id, status=status)
    return Campaign.from_record(record)


async def delete_campaign(conn: Executor, user_id: int, campaign_id: UUID) -> None:
    status = await conn.execute("DELETE FROM campaigns WHERE id = $1 AND user_id = $2", campaign_id, user_id)
    if status == "DELETE 0":
        raise NotFound("campaign", campaign_id)
