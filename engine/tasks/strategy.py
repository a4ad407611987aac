"""Strategy notes for tasks that keep failing: a suggested change the owner may accept.

The note is a task event (kind "strategy") whose data carries the suggestion:
{"suggestion": {"window": {"start": "15:00", "end": "18:00"}, "instructions": "..."}}.
Nothing changes until the owner calls `accept_strategy`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from db import events, sweeps, tasks
from db.errors import NotFound
from db.models import Task, User
from db.tasks import TaskDraft
from engine.tasks.calling_window import CallingWindow
from engine.tasks.constraints import ConstraintError, check_constraints

log = logging.getLogger(__name__)
MORNING = {"start": "09:00", "end": "12:00"}
LATE_AFTERNOON = {"start": "15:00", "end": "18:00"}


def template_suggestion(history: list[dict[str, Any]], window: CallingWindow) -> tuple[str, dict[str, Any]]:
    """(message, suggestion) from the attempts so far, without a model."""
    outcomes = Counter((c["outcome"] or "unknown").replace("_", " ") for c in history)
    hours = [c["originated_at"].astimezone(window.zone).hour for c in history]
    mostly_morning = sum(h < 12 for h in hours) * 2 >= len(hours)
    target = LATE_AFTERNOON if mostly_morning else MORNING
    summary = ", ".join(f"{name} ×{n}" for name, n in outcomes.most_common())
    when = "in the morning" if mostly_morning else "in the afternoon or evening"
    suggestion: dict[str, Any] = {"window": target}
    message = (
        f"{len(history)} attempts so far ({summary}), mostly {when} in {window.zone.key}. "
        f"Suggestion: call between {target['start']} and {target['end']} instead."
    )
    if outcomes.get("answered"):
        suggestion["instructions"] = "State the request in the first sentence and ask for the right person."
        message += " The callee answered without a result: consider clearer instructions."
    return message + " Accept to apply.", suggestion


class ModelSuggestion(BaseModel):
    message: str
    window_start: str | None = None
    window_end: str | None = None
    instructions: str | None = None


class StrategyAdvisor:
    """Templated notes; with an openai client, a model-written note (template on any failure)."""

    def __init__(self, client: Any = None, model: str = "") -> None:
        self.client = client
        self.model = model

    async def suggest(self, task: Task, history: list[dict[str, Any]], window: CallingWindow) -> tuple[str, dict]:
        message, suggestion = template_suggestion(history, window)
        if self.client is None:
            return message, suggestion
        try:
            completion = await self.client.chat.completions.parse(
                model=self.model,
                messages=[
                    {"role": "system", "content": "Suggest one change (time of day as HH:MM window in the "
                     "callee's time zone, or instructions for the phone agent) for a call task that keeps "
                     "failing. Keep the message to two sentences."},
                    {"role": "user", "content": repr({"objective": task.objective, "zone": window.zone.key,
                                                       "attempts": history})},
                ],
                response_format=ModelSuggestion,
            )
            answer = completion.choices[0].message.parsed
        except Exception as exc:
            log.warning("strategy model failed, using the template: %s", exc)
            return message, suggestion
        if answer is None:
            return message, suggestion
        model_suggestion: dict[str, Any] = {}
        if answer.window_start and answer.window_end:
            window = {"start": answer.window_start, "end": answer.window_end}
            try:
                check_constraints({"window": window})
                model_suggestion["window"] = window
            except ConstraintError as exc:  # a window the task could not use: not suggested
                log.info("strategy model suggested an unusable window: %s", exc)
        if answer.instructions:
            model_suggestion["instructions"] = answer.instructions
        return (answer.message, model_suggestion) if model_suggestion else (message, suggestion)


async def write_strategy_note(pool: asyncpg.Pool, task: Task, user: User, window: CallingWindow,
                              advisor: StrategyAdvisor) -> None:
    history = await sweeps.call_history(pool, task.user_id, task.id)
    message, suggestion = await advisor.suggest(task, history, window)
    await events.add_task_event(pool, task.user_id, task.id, kind="strategy", actor="advisor",
                                message=message[:2000], data={"suggestion": suggestion})


async def accept_strategy(pool: asyncpg.Pool, user_id: int, task_id: UUID, event_id: int) -> Task:
    """Apply a strategy note's suggestion to the task (window into constraints, instructions into context)."""
    note = next((e for e in await events.list_task_events(pool, user_id, task_id)
                 if e.id == event_id and e.kind == "strategy"), None)
    if note is None:
        raise NotFound("strategy note", event_id)
    suggestion = note.data.get("suggestion") or {}
    async with pool.acquire() as conn, conn.transaction():
        task = await tasks.get_task(conn, user_id, task_id)
        if "window" in suggestion:
            constraints = check_constraints({**task.constraints, "window": suggestion["window"]})
            draft = TaskDraft(**{f: getattr(task, f) for f in TaskDraft.__struct_fields__ if f != "constraints"},
                              constraints=constraints)
            task = await tasks.update_task(conn, user_id, task_id, draft)
        if suggestion.get("instructions"):
            task = await tasks.merge_task_context(conn, user_id, task_id,
                                                  {"strategy_instructions": suggestion["instructions"]})
        await events.add_task_event(conn, user_id, task_id, kind="strategy_accepted", actor=f"user:{user_id}",
                                    message=f"Strategy accepted: {note.message[:1900]}", data={"note": event_id})
    return task
