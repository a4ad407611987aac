"""Form and request schemas (msgspec), and turning forms into validated drafts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar.enums import RequestEncodingType
from litestar.params import Body

from db.errors import InvalidInput
from db.models import Task
from db.tasks import TaskDraft

# How the pages' handlers take a form: `data: Annotated[SomeForm, Form]`.
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class LoginForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""
    next: str = "/"


class TaskForm(msgspec.Struct, kw_only=True):
    """The plain task form; every field is text so a bad value re-renders the form with a message."""

    phone_number: str = ""
    callee_name: str = ""
    objective: str = ""
    facts: str = ""
    success_criteria: str = ""
    earliest: str = ""  # datetime-local in the user's time zone
    latest: str = ""
    max_attempts: str = "5"
    notes: str = ""
    schedule: str = "now"  # now | draft
    voice_provider: str = ""  # "" (the installation's default) | realtime | live


class AnswerForm(msgspec.Struct, kw_only=True):
    answer: str = ""
    for_next_call: bool = False  # the call could no longer wait: keep the answer for the next one


class ChatForm(msgspec.Struct, kw_only=True):
    message: str = ""


class ProfileForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    time_zone: str = "UTC"
    callback_number: str = ""
    about: str = ""
    agent_notes: str = ""


class TokenForm(msgspec.Struct, kw_only=True):
    name: str = ""
    scope: str = "read"


class PasswordForm(msgspec.Struct, kw_only=True):
    current_password: str = ""
    password: str = ""
    confirm: str = ""


class NewUserForm(msgspec.Struct, kw_only=True):
    email: str = ""
    display_name: str = ""
    time_zone: str = "UTC"
    role: str = "user"


def parse_local_time(field: str, text: str, tz: ZoneInfo) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a date and time") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def draft_from_form(form: TaskForm, tz: ZoneInfo, now: datetime) -> tuple[TaskDraft, datetime | None]:
    """The task draft and when to schedule it (None: keep as draft); raises InvalidInput."""
    try:
        max_attempts = int(form.max_attempts or "5")
    except ValueError:
        raise InvalidInput("max_attempts", "must be a whole number") from None
    earliest = parse_local_time("earliest", form.earliest, tz)
    latest = parse_local_time("latest", form.latest, tz)
    constraints: dict[str, Any] = {}
    if earliest:
        constraints["earliest"] = earliest.astimezone(UTC).isoformat()
    if latest:
        if latest <= now:
            raise InvalidInput("latest", "the deadline must be in the future")
        if earliest and latest <= earliest:
            raise InvalidInput("latest", "the deadline must come after the earliest time")
        constraints["latest"] = latest.astimezone(UTC).isoformat()
    if form.notes.strip():
        constraints["notes"] = form.notes.strip()[:1000]
    draft = TaskDraft(
        phone_number=form.phone_number,
        callee_name=form.callee_name,
        objective=form.objective,
        facts=form.facts,
        success_criteria=form.success_criteria,
        constraints=constraints,
        max_attempts=max_attempts,
        voice_provider=form.voice_provider or None,
    )
    if form.schedule == "draft":
        return draft, None
    return draft, max(earliest, now) if earliest else now


FORM_CONSTRAINTS = ("earliest", "latest", "notes")  # the constraints the task form edits


def keep_other_constraints(draft: TaskDraft, task: Task) -> TaskDraft:
    """An edited draft keeps the constraints the form does not show (a calling window, a policy)."""
    kept = {key: value for key, value in task.constraints.items() if key not in FORM_CONSTRAINTS}
    return msgspec.structs.replace(draft, constraints={**kept, **draft.constraints})


def local_input(value: str | None, tz: ZoneInfo) -> str:
    """An ISO time (a task's or a plan's constraint) as a datetime-local value in the user's zone."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return value


def form_from_task(task: Any, tz: ZoneInfo) -> TaskForm:
    return TaskForm(
        phone_number=task.phone_number,
        callee_name=task.callee_name,
        objective=task.objective,
        facts=task.facts,
        success_criteria=task.success_criteria,
        earliest=local_input(task.constraints.get("earliest"), tz),
        latest=local_input(task.constraints.get("latest"), tz),
        max_attempts=str(task.max_attempts),
        notes=str(task.constraints.get("notes", "")),
        voice_provider=task.voice_provider or "",
    )


class TaskCreate(msgspec.Struct, kw_only=True):
    """JSON API: a new task; scheduled at `schedule_at` (default now) unless `draft` is true."""

    phone_number: str
    objective: str
    callee_name: str = ""
    facts: str = ""
    success_criteria: str = ""
    constraints: dict[str, Any] = {}
    max_attempts: int = 5
    priority: int = 0
    campaign_id: UUID | None = None
    schedule_at: datetime | None = None
    draft: bool = False
    voice_provider: str | None = None  # realtime | live; None: the installation's default


class TaskUpdate(msgspec.Struct, kw_only=True):
    """JSON API: the full set of editable fields of a task."""

    phone_number: str
    objective: str
    callee_name: str = ""
    facts: str = ""
    success_criteria: str = ""
    constraints: dict[str, Any] = {}
    max_attempts: int = 5
    priority: int = 0
    voice_provider: str | None = None


class CampaignCreate(msgspec.Struct, kw_only=True):
    title: str
    request: str = ""
    tasks: list[TaskCreate] = []


class HitlAnswer(msgspec.Struct, kw_only=True):
    answer: str
    for_next_call: bool = False
