"""Checks made before anything is written, with messages a person can act on."""

from __future__ import annotations

import phonenumbers

from db.errors import InvalidInput


def normalize_phone_number(raw: str, default_region: str | None = None, *, field: str = "phone_number") -> str:
    """Parse a phone number as a person typed it and return it in E.164.

    Without a leading `+` the number is read in `default_region` (an ISO country code).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidInput(field, "a phone number is required")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if text.startswith("+") or default_region else " (start it with + and the country code)"
        raise InvalidInput(field, f"{raw!r} is not a phone number{hint}: {exc._msg}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_length(field: str, value: str | None, maximum: int, *, required: bool = False) -> str:
    text = value or ""
    if required and not text.strip():
        raise InvalidInput(field, "must not be empty")
    if len(text) > maximum:
        raise InvalidInput(field, f"is {len(text)} characters long; at most {maximum} are allowed")
    return text


def check_choice(field: str, value: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(field, f"{value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def check_time_zone(field: str, value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(field, f"{value!r} is not a time zone (use a name such as Europe/Berlin)") from None
    return value
