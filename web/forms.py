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
from engine.tasks.constraints import ConstraintError, check_constraints

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
    voicemail: str = "hang_up"  # leave_message | hang_up | call_back_later
    machine_message: str = ""  # what to leave on a machine (empty: a short generic message)
    greet_first: bool = False  # unchecked box: absent from the form
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


class UnknownChoice(InvalidInput):
    """A form field that only takes fixed values got another one: 422 (the form is shown again)."""

    status = 422


SCHEDULES = ("now", "draft")


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
    if form.schedule not in SCHEDULES:
        raise UnknownChoice("schedule", f"{form.schedule[:40]!r} is not one of: now, draft")
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
    if form.machine_message.strip():
        constraints["machine_message"] = form.machine_message.strip()[:500]
    try:
        check_constraints(constraints)
    except ConstraintError as exc:
        raise InvalidInput(exc.field, str(exc)) from None
    draft = TaskDraft(
        phone_number=form.phone_number,
        callee_name=form.callee_name,
        objective=form.objective,
        facts=form.facts,
        success_criteria=form.success_criteria,
        constraints=constraints,
        max_attempts=max_attempts,
        greet_first=form.greet_first,
        voicemail=form.voicemail,
        voice_provider=form.voice_provider or None,
    )
    if form.schedule == "draft":
        return draft, None
    return draft, max(earliest, now) if earliest else now


FORM_CONSTRAINTS = ("earliest", "latest", "notes", "machine_message")  # the constraints the task form edits


def keep_other_constraints(draft: TaskDraft, task: Task) -> TaskDraft:
    """An edited draft keeps the constraints the form does not show (a calling window, a policy)."""
    kept = {key: value for key, value in task.constraints.items() if key not in FORM_CONSTRAINTS}
    return msgspec.structs.replace(draft, constraints={**kept, **draft.constraints})


def local_input(value: str | None, tz: ZoneInfo) -> str:
    """An ISO time (a task's or a plan's constraint) as a datetime-local value in the user's zone."""
    if not value or not isinstance(value, str):
        return ""  # a row stored before constraints were checked: nothing to show
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
        notes=_notes_text(task.constraints.get("notes", "")),
        voicemail=getattr(task, "voicemail", "hang_up"),
        machine_message=str(task.constraints.get("machine_message", "")),
        greet_first=bool(getattr(task, "greet_first", False)),
        voice_provider=task.voice_provider or "",
    )


def _notes_text(notes: Any) -> str:
    return "\n".join(map(str, notes)) if isinstance(notes, list) else str(notes or "")


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
    greet_first: bool = False  # greet on answer instead of letting the callee speak first
    voicemail: str = "hang_up"  # on an answering machine: leave_message | hang_up | call_back_later
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
    greet_first: bool = False  # greet on answer instead of letting the callee speak first
    voicemail: str = "hang_up"  # on an answering machine: leave_message | hang_up | call_back_later
    voice_provider: str | None = None  # realtime | live; None: the installation's default


class CampaignCreate(msgspec.Struct, kw_only=True):
    title: str
    request: str = ""
    tasks: list[TaskCreate] = []


class HitlAnswer(msgspec.Struct, kw_only=True):
    answer: str
    for_next_call: bool = False
