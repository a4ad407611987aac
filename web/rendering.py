"""Page rendering: the Jinja environment (autoescaping on), filters, and the page helper."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from db import hitl
from db.models import CallEvent
from web.auth import current_user, db_pool

TEMPLATES = Path(__file__).parent / "templates"

STATUS_LABELS = {
    "draft": "Draft",
    "scheduled": "Scheduled",
    "dialing": "Dialing",
    "in_call": "In call",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "retry_scheduled": "Retry scheduled",
    "pending_user_info": "Needs your answer",
    "cancelled": "Cancelled",
    "blocked_dnd": "Do not call",
}


def _local(value: datetime | None, tz: ZoneInfo | None = None, fmt: str = "%d %b %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(tz or UTC).strftime(fmt)


def _local_iso(value: str, tz: ZoneInfo | None = None) -> str:
    """A stored ISO time (a task's constraint) in the user's zone, like every other time on the page."""
    try:
        return _local(datetime.fromisoformat(value), tz, "%d %b %Y %H:%M")
    except (TypeError, ValueError):
        return str(value)


# Bidirectional-text controls (embeddings, overrides, isolates, marks): in a user-provided name they could
# make the page show other text than what is stored ("evil\u202etxt.exe"), and they run into the text around.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F])


def no_bidi(value: Any) -> str:
    """The text without bidi control characters (the `no_bidi` filter for every user-provided name)."""
    return "" if value is None else str(value).translate(_BIDI_CONTROLS)


def _finalize(value: Any) -> Any:
    """Every `{{ ... }}` output loses bidi controls too (event messages quote names), markup stays markup."""
    if isinstance(value, Markup):
        return Markup(str.translate(value, _BIDI_CONTROLS))
    if isinstance(value, str):
        return value.translate(_BIDI_CONTROLS)
    return value


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "—"
    seconds = int((end - start).total_seconds())
    return f"{seconds // 60}:{seconds % 60:02d}"


def _without_status(message: str, status: str | None) -> str:
    """A status event's message without the status word its chip already shows.

    "Succeeded: Cleaning moved" beside a "Succeeded" chip reads "Cleaning moved";
    "Dialing (attempt 1 of 5)" beside "Dialing" reads "attempt 1 of 5".
    """
    label = STATUS_LABELS.get(str(status), "") if status else ""
    if not label or not message.lower().startswith(label.lower()):
        return message
    rest = message[len(label):]
    if rest[:1].isalnum():
        return message  # the label is only the start of a longer word
    rest = rest.lstrip(" :—–-")
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    return rest


def _call_event_rows(events: list[CallEvent]) -> list[tuple[datetime, str, str]]:
    """(at, kind, message) rows of a call's events list.

    The phone system and the agent both report some steps: the agent's
    "answered" repeats the phone's "the callee answered" and says what it does
    next. Such a repeat (same kind, a message that continues the earlier one)
    completes the earlier row instead of showing the kind twice.
    """
    rows: list[tuple[datetime, str, str]] = []
    for event in events:
        for i, (at, kind, message) in enumerate(rows):
            if kind == event.kind and event.message != message and event.message.startswith(message):
                rows[i] = (at, kind, event.message)
                break
        else:
            rows.append((event.at, event.kind, event.message))
    return rows


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def template_config() -> TemplateConfig:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(local=_local, local_iso=_local_iso, pretty_json=_pretty_json, without_status=_without_status,
                       call_event_rows=_call_event_rows, status_label=lambda s: STATUS_LABELS.get(str(s), str(s)),
                       no_bidi=no_bidi)
    env.globals.update(duration=_duration, STATUS_LABELS=STATUS_LABELS)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(env))


async def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Template:
    """A full page: adds the signed-in user, their time zone and the open-question count."""
    user = request.scope.get("user")
    if user is not None and not user.must_change_password:
        pool = db_pool(request)
        context.setdefault("open_questions", await hitl.count_open_requests(pool, user.id))
    if user is not None:
        context.setdefault("tz", ZoneInfo(user.time_zone))
    return Template(template_name=name, context={"user": user, "path": request.url.path, **context}, status_code=status_code)


def fragment(request: Request, name: str, **context: Any) -> Template:
    """A piece of a page, fetched by the live-update script (no layout)."""
    user = current_user(request)
    return Template(template_name=name, context={"user": user, "tz": ZoneInfo(user.time_zone), **context})
