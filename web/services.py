"""What the web app does on a user's behalf, on top of the `db` queries and the task state machine."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from db import campaigns, chats, tasks
from db.errors import TransitionRefused
from db.models import Campaign, Executor, Task, TaskStatus
from db.pool import transaction
from db.tasks import TaskDraft, TaskMove
from engine.tasks.campaigns import CampaignQuota, create_campaign_with_tasks, export_campaign_csv
from engine.tasks.states import move_task

S = TaskStatus


def now() -> datetime:
    return datetime.now(UTC)


def campaign_quota(settings: Any) -> CampaignQuota:
    """The per-user campaign quotas from the node's settings."""
    return CampaignQuota(max_tasks=settings.max_tasks_per_campaign, max_per_day=settings.max_campaigns_per_day)


async def cancel_task(conn: Executor, user_id: int, task_id: UUID) -> Task:
    return await move_task(conn, user_id, task_id, TaskMove(to=S.CANCELLED, why="Cancelled by the user", actor="user"))


async def call_now(conn: Executor, user_id: int, task_id: UUID) -> Task:
    """Make the task due at once: drafts and waiting tasks become scheduled with next_attempt_at = now."""
    task = await tasks.get_task(conn, user_id, task_id)
    status = S(task.status)  # rows carry the plain string
    move = TaskMove(to=S.SCHEDULED, expected=status, why="Call now requested", actor="user", kind="call_now",
                    changes={"next_attempt_at": now()})
    if status in (S.DRAFT, S.RETRY_SCHEDULED, S.PENDING_USER_INFO):
        return await move_task(conn, user_id, task_id, move)
    if status is S.SCHEDULED:  # already waiting: only the time moves (same guarded statement, no state change)
        return await tasks.transition_task(conn, user_id, task_id, move)
    raise TransitionRefused(task_id, status.value, "called now")



async def save_exchange(conn: Executor, user_id: int, conversation_id: UUID | None, text: str, reply: Any) -> UUID:
    """The person's message, the assistant's reply and the plan it proposes: all or nothing.

    Without a conversation id a new conversation is started (in the same transaction).
    """
    async with transaction(conn) as tx:
        if conversation_id is None:
            conversation_id = (await chats.create_conversation(tx, user_id)).id
        await chats.add_message(tx, user_id, conversation_id, role="user", content=text)
        await chats.add_message(tx, user_id, conversation_id, role="assistant", content=reply.message[:8000] or "…")
        await chats.set_plan(tx, user_id, conversation_id, msgspec.to_builtins(reply.plan) if reply.plan else None)
    return conversation_id


async def confirm_plan(
    conn: Executor, user_id: int, conversation_id: UUID, plan: Any, drafts: list[tuple[TaskDraft, datetime | None]],
    quota: CampaignQuota = CampaignQuota(),
) -> Campaign:
    """The reviewed plan becomes a campaign with its tasks, and the conversation is closed: all or nothing.

    The tasks go through the engine's checks: PlanRejected (per-task errors) and nothing is saved.
    """
    async with transaction(conn) as tx:
        messages = await chats.list_messages(tx, user_id, conversation_id)
        request = "\n".join(m.content for m in messages if m.role == "user")[:10000]
        campaign, _ = await create_campaign_with_tasks(
            tx, user_id, title=plan.title[:200], request=request,
            drafts=[draft for draft, _ in drafts], schedules=[schedule_at for _, schedule_at in drafts], quota=quota,
        )
        await chats.set_plan(tx, user_id, conversation_id, msgspec.to_builtins(plan))
        await chats.mark_confirmed(tx, user_id, conversation_id, campaign.id)
    return campaign


async def campaign_csv(pool: asyncpg.Pool, user_id: int, campaign_id: UUID) -> tuple[str, str]:
    """(file name, CSV text) of one of the user's campaigns; NotFound for anyone else's."""
    campaign = await campaigns.get_campaign(pool, user_id, campaign_id)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", campaign.title).strip("-")[:60].lower() or "campaign"
    return f"{slug}-{str(campaign.id)[:8]}.csv", await export_campaign_csv(pool, user_id, campaign_id)
