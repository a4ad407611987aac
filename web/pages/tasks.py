"""The dashboard, the task form, the task page and its actions."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from db import calls, campaigns, events, hitl, stats, tasks
from db.errors import InvalidInput
from engine.tasks.strategy import accept_strategy
from web import charts, services
from web.auth import current_user, db_pool, signed_in
from web.forms import Form, TaskForm, draft_from_form, form_from_task, keep_other_constraints
from web.rendering import STATUS_LABELS, fragment, page


async def _task_list(request: Request, status: str | None, q: str | None, campaign: UUID | None) -> dict[str, Any]:
    user = current_user(request)
    found = await tasks.list_tasks(db_pool(request), user.id, status=status or None, search=q or None, campaign_id=campaign)
    return {"tasks": found, "status": status or "", "q": q or "", "campaign": campaign}


class TaskPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/")
    async def dashboard(self, request: Request, status: str | None = None, q: str | None = None, campaign: UUID | None = None) -> Template:
        listing = await _task_list(request, status, q, campaign)
        return await page(request, "dashboard.html", **listing, **await _counts(request), **await _charts(request),
                          statuses=STATUS_LABELS,
                          campaigns=await campaigns.list_campaigns(db_pool(request), current_user(request).id, limit=50))

    @get("/fragments/status-chips")
    async def status_chips(self, request: Request, status: str | None = None, q: str | None = None) -> Template:
        return fragment(request, "_status_chips.html", **await _counts(request), status=status or "", q=q or "", statuses=STATUS_LABELS)

    @get("/fragments/charts")
    async def charts(self, request: Request) -> Template:
        return fragment(request, "_charts.html", **await _charts(request))

    @get("/fragments/task-rows")
    async def task_rows(self, request: Request, status: str | None = None, q: str | None = None, campaign: UUID | None = None) -> Template:
        return fragment(request, "_task_rows.html", **await _task_list(request, status, q, campaign))

    @get("/tasks/new")
    async def new_task(self, request: Request) -> Template:
        return await page(request, "task_form.html", form=TaskForm(), error=None, task=None)

    @post("/tasks")
    async def create_task(self, request: Request, data: Annotated[TaskForm, Form]) -> Template | Redirect:
        user = current_user(request)
        try:
            draft, schedule_at = draft_from_form(data, ZoneInfo(user.time_zone), services.now())
            task = await tasks.create_task(db_pool(request), user.id, draft, schedule_at=schedule_at)
        except InvalidInput as exc:
            return await page(request, "task_form.html", getattr(exc, "status", 400), form=data, error=exc, task=None)
        return Redirect(f"/tasks/{task.id}", status_code=303)

    @get("/tasks/{task_id:uuid}")
    async def task_page(self, request: Request, task_id: UUID) -> Template:
        return await page(request, "task.html", **await _task_view(request, task_id))

    @get("/fragments/tasks/{task_id:uuid}")
    async def task_fragment(self, request: Request, task_id: UUID) -> Template:
        return fragment(request, "_task_live.html", **await _task_view(request, task_id))

    @get("/tasks/{task_id:uuid}/edit")
    async def edit_form(self, request: Request, task_id: UUID) -> Template:
        user = current_user(request)
        task = await tasks.get_task(db_pool(request), user.id, task_id)
        return await page(request, "task_form.html", form=form_from_task(task, ZoneInfo(user.time_zone)), error=None, task=task)

    @post("/tasks/{task_id:uuid}/edit")
    async def edit(self, request: Request, task_id: UUID, data: Annotated[TaskForm, Form]) -> Template | Redirect:
        user, pool = current_user(request), db_pool(request)
        task = await tasks.get_task(pool, user.id, task_id)
        try:
            draft, _ = draft_from_form(data, ZoneInfo(user.time_zone), services.now())
            await tasks.update_task(pool, user.id, task_id, keep_other_constraints(draft, task))
        except InvalidInput as exc:
            return await page(request, "task_form.html", getattr(exc, "status", 400), form=data, error=exc, task=task)
        return Redirect(f"/tasks/{task_id}", status_code=303)

    @post("/tasks/{task_id:uuid}/cancel")
    async def cancel(self, request: Request, task_id: UUID) -> Redirect:
        await services.cancel_task(db_pool(request), current_user(request).id, task_id)
        return Redirect(f"/tasks/{task_id}", status_code=303)

    @post("/tasks/{task_id:uuid}/strategy/{event_id:int}/accept")
    async def accept_strategy(self, request: Request, task_id: UUID, event_id: int) -> Redirect:
        """Apply a strategy note's suggestion (calling window, instructions) to the task."""
        await accept_strategy(db_pool(request), current_user(request).id, task_id, event_id)
        return Redirect(f"/tasks/{task_id}", status_code=303)

    @post("/tasks/{task_id:uuid}/call-now")
    async def call_now(self, request: Request, task_id: UUID) -> Redirect:
        await services.call_now(db_pool(request), current_user(request).id, task_id)
        return Redirect(f"/tasks/{task_id}", status_code=303)


async def _counts(request: Request) -> dict[str, Any]:
    """Tasks per status (the status chips)."""
    return {"counts": await tasks.count_tasks_by_status(db_pool(request), current_user(request).id)}


async def _charts(request: Request) -> dict[str, Any]:
    """The two dashboard charts."""
    user, pool = current_user(request), db_pool(request)
    return {
        "outcome_chart": charts.campaign_outcomes(await stats.task_outcomes_per_campaign(pool, user.id), STATUS_LABELS),
        "calls_chart": charts.calls_over_time(await stats.calls_per_day(pool, user.id, time_zone=user.time_zone)),
    }


async def _task_view(request: Request, task_id: UUID) -> dict[str, Any]:
    user, pool = current_user(request), db_pool(request)
    task = await tasks.get_task(pool, user.id, task_id)
    task_calls = await calls.list_calls(pool, user.id, task_id=task_id)
    questions = await hitl.list_requests(pool, user.id, task_id=task_id)
    task_events = await events.list_task_events(pool, user.id, task_id)
    timeline = sorted(
        [("event", e.at, e) for e in task_events]
        + [("call", c.originated_at, c) for c in task_calls]
        + [("question", q.created_at, q) for q in questions],
        key=lambda item: item[1],
    )
    applied = {e.data.get("note") for e in task_events if e.kind == "strategy_accepted"}
    return {"task": task, "calls": task_calls, "questions": questions, "timeline": timeline,
            "editable": task.status in tasks.EDITABLE_STATUSES, "applied_notes": applied}
