"""How the voice agent asks the task's owner a question mid-call (HITL).

The PostgreSQL-backed broker is `engine.hitl.PostgresUserInfoBroker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UserQuestion:
    task_id: str
    call_id: str
    question: str


class UserInfoBroker(Protocol):
    """Asks the task's owner a question mid-call (the HITL inbox lives elsewhere)."""

    async def ask(self, question: UserQuestion, timeout_s: float) -> str | None:
        """The user's answer, or None when none came within `timeout_s`."""
