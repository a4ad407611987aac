"""Campaigns: create a plan's tasks all or nothing, summarise when every task is final, export CSV."""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from db import campaigns, sweeps, tasks, users
from db.errors import DataError, InvalidInput, NotFound
from db.models import Campaign, Executor, Task
from db.pool import transaction
from db.tasks import TaskDraft, validate_draft
from engine.tasks.calling_window import ConstraintError, check_constraints

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskError:
    index: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class CampaignQuota:
    """Per user: tasks in one campaign, campaigns in 24 hours (OPENDEEP_MAX_TASKS_PER_CAMPAIGN, _MAX_CAMPAIGNS_PER_DAY)."""

    max_tasks: int = 500
    max_per_day: int = 50


class QuotaExceeded(DataError):
    """Over a quota; nothing was created. `status` is 422 (too many tasks) or 429 (too many campaigns today)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PlanRejected(DataError):
    """A plan with at least one bad task; nothing was created."""

    def __init__(self, errors: list[TaskError]) -> None:
        super().__init__("; ".join(f"task {e.index + 1}: {e.field}: {e.message}" for e in errors))
        self.errors = errors


async def create_campaign_with_tasks(
    conn: Executor,
    user_id: int,
    *,
    title: str,
    drafts: list[TaskDraft],
    request: str = "",
    schedule_at: datetime | None = None,
    schedules: list[datetime | None] | None = None,
    default_region: str | None = None,
    quota: CampaignQuota = CampaignQuota(),
) -> tuple[Campaign, list[Task]]:
    """Create the campaign and its tasks in one transaction; raise PlanRejected listing every bad task.

    `conn` is a pool (a connection is taken for the transaction) or a connection, possibly inside the
    caller's transaction (then this one nests as a savepoint, and commits with the caller's).
    `schedules` gives each task its own first attempt time (None: a draft); without it every task gets
    `schedule_at`. Over `quota`: QuotaExceeded, nothing created.
    """
    if schedules is not None and len(schedules) != len(drafts):
        raise ValueError("schedules must have one entry per draft")
    await users.get_user(conn, user_id)  # NotFound for an unknown owner
    if len(drafts) > quota.max_tasks:
        raise QuotaExceeded(f"A campaign holds at most {quota.max_tasks} tasks; this one has {len(drafts)}. "
                            "Split it into smaller campaigns.", 422)
    errors: list[TaskError] = []
    if not drafts:
        errors.append(TaskError(0, "tasks", "a plan needs at least one task"))
    for index, draft in enumerate(drafts):
        try:
            checked = validate_draft(draft, default_region)
        except InvalidInput as exc:
            errors.append(TaskError(index, exc.field, exc.message))
            continue
        try:
            check_constraints(checked.constraints)
        except ConstraintError as exc:
            field, _, message = str(exc).partition(": ")
            errors.append(TaskError(index, f"constraints.{field}", message))
    if errors:
        raise PlanRejected(errors)
    async with transaction(conn) as tx:
        await campaigns.lock_user_campaigns(tx, user_id)  # concurrent plans of one user count one after the other
        if await campaigns.count_recent_campaigns(tx, user_id) >= quota.max_per_day:
            raise QuotaExceeded(f"You created {quota.max_per_day} campaigns in the last 24 hours, the most allowed; "
                                "try again later.", 429)
        campaign = await campaigns.create_campaign(tx, user_id, title=title, request=request)
        created = [
            await tasks.create_task(tx, user_id, draft, campaign_id=campaign.id,
                                    schedule_at=schedule_at if schedules is None else schedules[index],
                                    default_region=default_region)
            for index, draft in enumerate(drafts)
        ]
    return campaign, created



def template_summary(title: str, rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    head = f"{title}: {counts.get('succeeded', 0)} of {len(rows)} tasks succeeded"
    rest = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()) if status != "succeeded")
    lines = [head + (f"; {rest}." if rest else ".")]
    for row in rows:
        who = row["callee_name"] or row["phone_number"]
        if row["status"] == "succeeded":
            why = (row["result"] or {}).get("summary") or row["verdict_reason"] or ""
        else:
            why = row["failure_reason"] or row["verdict_reason"] or ""
        lines.append(f"- {who}: {row['status'].replace('_', ' ')} after {row['attempt_count']} attempt(s)"
                     + (f" — {why}" if why else ""))
    return "\n".join(lines)


class CampaignSummarizer:
    """Templated summaries; with an openai client, a model-written one (template on any failure)."""

    def __init__(self, client: Any = None, model: str = "") -> None:
        self.client = client
        self.model = model

    async def summarize(self, campaign: Campaign, rows: list[dict[str, Any]]) -> str:
        fallback = template_summary(campaign.title, rows)
        if self.client is None:
            return fallback
        try:
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": "Summarise for the user what these phone calls achieved, "
                     "task by task, in a few short lines. Do not invent anything."},
                    {"role": "user", "content": f"Request: {campaign.request}\n\n{fallback}"},
                ],
            )
            text = (completion.choices[0].message.content or "").strip()
        except Exception as exc:
            log.warning("summary model failed, using the template: %s", exc)
            return fallback
        return text[:20000] or fallback


async def finish_if_done(pool: asyncpg.Pool, user_id: int, campaign_id: UUID,
                         summarizer: CampaignSummarizer) -> Campaign | None:
    """Write the summary and close the campaign when every task is final (once, whichever node)."""
    rows = await sweeps.campaign_task_rows(pool, user_id, campaign_id)
    if not rows or any(r["status"] not in sweeps.TERMINAL for r in rows):
        return None
    campaign = await campaigns.get_campaign(pool, user_id, campaign_id)
    if campaign.status != "active":
        return None
    summary = await summarizer.summarize(campaign, rows)
    status = "cancelled" if all(r["status"] == "cancelled" for r in rows) else "completed"
    try:
        return await campaigns.finish_campaign(pool, user_id, campaign_id, status=status, summary=summary)
    except NotFound:
        return None  # another node finished it first


CSV_COLUMNS = ("task_id", "callee_name", "phone_number", "objective", "status", "attempts", "max_attempts",
               "last_outcome", "verdict", "verdict_reason", "result")


async def export_campaign_csv(pool: asyncpg.Pool, user_id: int, campaign_id: UUID) -> str:
    await campaigns.get_campaign(pool, user_id, campaign_id)  # NotFound for another user's campaign
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in await sweeps.campaign_task_rows(pool, user_id, campaign_id):
        result = (row["result"] or {}).get("summary") or row["failure_reason"] or ""
        writer.writerow([_inert(cell) for cell in (
            row["task_id"], row["callee_name"], row["phone_number"], row["objective"], row["status"],
            row["attempt_count"], row["max_attempts"], row["last_outcome"] or "",
            row["last_verdict"] or "", row["verdict_reason"] or "", result)])
    return out.getvalue()


_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _inert(cell: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading quote (E.164 numbers stay as they are)."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _E164.match(cell):
        return "'" + cell
    return cell
