"""A task's calling constraints, read: the calling window in the callee's local time and the deadline.

Pure functions of the task and its owner. The window comes from the number's
time zone (`phonenumbers`) unless the task's constraints or the user's profile
say otherwise:

    constraints = {"window": {"start": "14:00", "end": "17:00"}, "days": ["tue"],
                   "time_zone": "America/New_York", "latest": "2026-03-06T18:00:00+01:00"}
    user.profile = {"calling_window": {"start": "10:00", "end": "18:00"}, "calling_days": [...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_time_zones

from db.models import Task, User
from engine.tasks.constraints import (
    DAY_NAMES,
    ConstraintError,
    check_constraints,
    day_index,
    parse_clock,
    parse_constraints,
)

__all__ = ["CallingWindow", "ConstraintError", "calling_window", "callee_time_zone", "check_constraints", "task_deadline"]


@dataclass(frozen=True, slots=True)
class CallingWindow:
    start: time
    end: time
    zone: ZoneInfo
    days: frozenset[int] = frozenset(range(7))  # 0 = Monday

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, now: datetime) -> datetime:
        """`now` when inside the window, else the start of the next opening after it (aware, UTC-comparable)."""
        if self.contains(now):
            return now
        local = now.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opening = datetime.combine(day, self.start, tzinfo=self.zone)
            if opening > now:
                return opening
        raise ValueError("a calling window without any day")  # days is never empty (parse_window)

    def local_label(self, at: datetime) -> str:
        """'Tue 09:00' in the window's time zone."""
        local = at.astimezone(self.zone)
        return f"{DAY_NAMES[local.weekday()].capitalize()} {local:%H:%M}"


def _parse_time(field: str, text: Any) -> time:
    return parse_clock(field, text)


def _parse_zone(field: str, name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConstraintError(f"{field}: {name!r} is not a time zone") from None


def callee_time_zone(phone_number: str, fallback: str) -> ZoneInfo:
    """The callee's zone from the number; `fallback` (the user's) when the number spans several."""
    try:
        zones = number_time_zones.time_zones_for_number(phonenumbers.parse(phone_number))
    except phonenumbers.NumberParseException:
        zones = ()
    known = [z for z in zones if z != "Etc/Unknown"]
    if len(known) == 1:
        return ZoneInfo(known[0])
    return ZoneInfo(fallback)


def _window_parts(constraints: Any, profile: dict[str, Any], default_start: str, default_end: str):
    checked = parse_constraints(constraints)  # ConstraintError for any shape the schema refuses
    profile = profile if isinstance(profile, dict) else {}
    if checked.window is not None:
        window: Any = {"start": checked.window.start, "end": checked.window.end}
    else:
        window = profile.get("calling_window") or {}
    if not isinstance(window, dict):
        raise ConstraintError(f"window: {window!r} must be an object with start and end", "constraints.window")
    days = checked.days or profile.get("calling_days")
    start = _parse_time("window.start", window.get("start", default_start))
    end = _parse_time("window.end", window.get("end", default_end))
    if end <= start:
        raise ConstraintError(f"window: the end ({end:%H:%M}) must be after the start ({start:%H:%M})",
                              "constraints.window")
    zone = _parse_zone("time_zone", checked.time_zone) if checked.time_zone else None
    day_set = frozenset(range(7))
    if days:
        try:
            day_set = frozenset(day_index(str(d)) for d in days)
        except (TypeError, ValueError):
            raise ConstraintError(f"days: {days!r} must name days such as mon, tue", "constraints.days") from None
    return start, end, day_set, zone


def calling_window(task: Task, user: User, *, default_start: str, default_end: str) -> CallingWindow:
    """The window for this task: task constraints, then the user's profile, then the defaults."""
    start, end, days, zone = _window_parts(task.constraints or {}, user.profile or {}, default_start, default_end)
    if zone is None:
        zone = callee_time_zone(task.phone_number, user.time_zone)
    return CallingWindow(start=start, end=end, zone=zone, days=days)


def task_deadline(task: Task) -> datetime | None:
    """The task's `latest` constraint: no attempt is made after it."""
    return parse_constraints(task.constraints).latest
