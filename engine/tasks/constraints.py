"""A task's `constraints`: the one schema every writer checks (task form, JSON API, campaigns, planner).

    {"window": {"start": "14:00", "end": "17:00"}, "days": ["tue", "thu"], "time_zone": "America/New_York",
     "earliest": "2026-03-02T09:00:00+00:00", "latest": "2026-03-06T18:00:00+01:00",
     "answering_machine": "leave_message", "machine_message": "Please call back ...", "notes": "..."}

Unknown keys are refused; `ConstraintError.field` names the bad one (`constraints.days`).
`calling_window.py` reads the checked values.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MACHINE_POLICIES = ("hang_up", "leave_message")


class ConstraintError(ValueError):
    """A task's constraints cannot be read; `field` names the bad one, the message says why."""

    def __init__(self, message: str, field: str = "constraints") -> None:
        super().__init__(message)
        self.field = field


def parse_clock(field: str, text: Any) -> time:
    """'09:30' → 09:30; '24:00' → the end of the day (a window's end is exclusive)."""
    if not isinstance(text, str):
        raise ConstraintError(f"{field}: {text!r} is not a time like 09:30", f"constraints.{field}")
    if text == "24:00":
        return time.max
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConstraintError(f"{field}: {text!r} is not a time like 09:30", f"constraints.{field}") from None


def day_index(name: str) -> int:
    """0 for 'mon' or 'Monday', ...; ValueError for anything else."""
    lowered = name.strip().lower()
    if lowered in DAY_NAMES:
        return DAY_NAMES.index(lowered)
    return _FULL_DAY_NAMES.index(lowered)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class CallingWindowSpec(_Strict):
    start: str = Field(max_length=5)
    end: str = Field(max_length=5)

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str, info: Any) -> str:
        try:
            parse_clock(f"window.{info.field_name}", value)
        except ConstraintError as exc:
            raise ValueError("not a time like 09:30") from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CallingWindowSpec:
        if parse_clock("window.end", self.end) <= parse_clock("window.start", self.start):
            raise ValueError(f"the end ({self.end}) must be after the start ({self.start})")
        return self


class TaskConstraints(_Strict):
    window: CallingWindowSpec | None = None
    days: list[str] | None = Field(default=None, max_length=7)
    time_zone: str | None = Field(default=None, max_length=64)
    earliest: AwareDatetime | None = None
    latest: AwareDatetime | None = None
    answering_machine: Literal["hang_up", "leave_message"] | None = None
    machine_message: str | None = Field(default=None, max_length=500)
    notes: str | list[str] | None = Field(default=None, max_length=2000)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            try:
                day_index(name)
            except ValueError:
                raise ValueError(f"{name!r} is not a day such as mon, tue") from None
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not a time zone such as Europe/Berlin") from None
        return value

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and sum(len(note) for note in value) > 2000:
            raise ValueError("the notes are longer than 2000 characters")
        return value


def parse_constraints(raw: Any) -> TaskConstraints:
    """The checked constraints, or ConstraintError naming the first bad field."""
    if raw is None:
        return TaskConstraints()
    if not isinstance(raw, dict):
        raise ConstraintError(f"constraints: {str(raw)[:80]!r} must be an object", "constraints")
    try:
        return TaskConstraints.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = ".".join(str(part) for part in error["loc"])
        message = "unknown key: not allowed" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        raise ConstraintError(f"{path}: {message}", f"constraints.{path}") from None


def check_constraints(raw: Any) -> dict[str, Any]:
    """`raw` unchanged when it is valid; ConstraintError (naming the field) when not."""
    parse_constraints(raw)
    return dict(raw or {})
