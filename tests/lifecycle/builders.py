"""Row values for pure-function tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from db.models import Task, TaskStatus, User

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def task(number: str = "+12125550123", constraints: dict | None = None, max_attempts: int = 5) -> Task:
    return Task(
        id=uuid4(), user_id=1, campaign_id=None, phone_number=number, callee_name="", objective="x", facts="",
        success_criteria="", constraints=constraints or {}, status=TaskStatus.DIALING, priority=0,
        max_attempts=max_attempts, attempt_count=1, next_attempt_at=None, claimed_by=None, claimed_at=None,
        context={}, result=None, failure_reason=None, created_at=T0, updated_at=T0,
    )


def user(time_zone: str = "Europe/Berlin", profile: dict | None = None) -> User:
    return User(id=1, email="a@b.c", display_name="", role="user", time_zone=time_zone, profile=profile or {},
                created_at=T0)
