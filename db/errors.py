"""Errors the data layer raises; each message is one clear sentence for a person."""

from __future__ import annotations


class DataError(Exception):
    """Base class of every error raised by `db`."""


class InvalidInput(DataError):
    """A value was refused before anything was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DataError):
    """No such row for this user (also what another user's row looks like)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class TransitionRefused(DataError):
    """A task was not in a state the transition starts from."""

    def __init__(self, task_id: object, current: str, wanted: str) -> None:
        super().__init__(f"task {task_id} is {current}; it cannot become {wanted}")
        self.task_id = task_id
        self.current = current
        self.wanted = wanted


class DatabaseUnavailable(DataError):
    """The database could not be reached or started."""
