"""Row types returned by the query functions (one struct per table)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Union
from uuid import UUID

import asyncpg
import msgspec

# Anything with fetch/fetchrow/execute: a pooled connection, a transaction's connection, a pool.
Executor = Union[asyncpg.Connection, asyncpg.Pool]


class TaskStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    DIALING = "dialing"
    IN_CALL = "in_call"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY_SCHEDULED = "retry_scheduled"
    PENDING_USER_INFO = "pending_user_info"
    CANCELLED = "cancelled"
    BLOCKED_DND = "blocked_dnd"


class Row(msgspec.Struct, kw_only=True):
    @classmethod
    def from_record(cls, record: asyncpg.Record | None):  # type: ignore[no-untyped-def]
        return None if record is None else cls(**dict(record))


class User(Row):
    id: int
    email: str
    display_name: str
    role: str
    time_zone: str
    profile: dict[str, Any]
    created_at: datetime
    must_change_password: bool = False  # an admin reset it, or it is the one-time password of a new account


class Campaign(Row):
    id: UUID
    user_id: int
    title: str
    request: str
    status: str
    summary: str | None
    created_at: datetime
    completed_at: datetime | None


class Task(Row):
    id: UUID
    user_id: int
    campaign_id: UUID | None
    phone_number: str
    callee_name: str
    objective: str
    facts: str
    success_criteria: str
    constraints: dict[str, Any]
    status: TaskStatus
    priority: int
    max_attempts: int
    attempt_count: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    claimed_at: datetime | None
    context: dict[str, Any]
    result: dict[str, Any] | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    greet_first: bool = False  # greet on answer instead of letting the callee speak first
    voicemail: str = "hang_up"  # on an answering machine: leave_message | hang_up | call_back_later
    voice_provider: str | None = None  # "realtime" | "live"; None: the installation's default

    def __post_init__(self) -> None:
        # The rows' queries hand over the column's plain text; keep the annotation true.
        self.status = TaskStatus(self.status)


class Call(Row):
    id: UUID
    user_id: int
    task_id: UUID | None  # None only for a plan's test call (is_test, test_draft)
    attempt: int
    node_id: str
    destination: str
    status: str
    originated_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    q850_cause: int | None
    sip_code: int | None
    hangup_by: str | None
    detail: str
    verdict: str | None
    verdict_reason: str | None
    recording: str | None
    metrics: dict[str, Any]
    is_test: bool = False  # a test call from the owner's browser (issue 16): not one of the task's attempts
    test_draft: dict[str, Any] | None = None  # a plan's test call: the proposed call it ran (no task exists)


class TranscriptTurn(Row):
    id: int
    user_id: int
    call_id: UUID
    speaker: str
    text: str
    started_at: datetime
    ended_at: datetime | None
    truncated: bool


class TaskEvent(Row):
    id: int
    user_id: int
    task_id: UUID
    call_id: UUID | None
    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    message: str
    data: dict[str, Any]


class CallEvent(Row):
    id: int
    user_id: int
    call_id: UUID
    at: datetime
    kind: str
    message: str
    data: dict[str, Any]


class AriEvent(Row):
    id: int
    user_id: int
    call_id: UUID
    at: datetime
    event_type: str
    channel_id: str | None
    payload: dict[str, Any]


class HitlRequest(Row):
    id: UUID
    user_id: int
    task_id: UUID | None  # None: asked during a plan's test call (call_id names it)
    call_id: UUID | None
    question: str
    recipient_message: str
    status: str
    deadline: datetime
    answer: str | None
    answered_at: datetime | None
    created_at: datetime


class InboxQuestion(HitlRequest):
    """A question with whose it is: the task's callee and objective (for the inbox)."""

    callee_name: str
    phone_number: str
    objective: str
    is_test: bool  # a test call asked it (call_id): its answer and its page are the test call's, not the task's


class DndNumber(Row):
    id: int
    user_id: int | None
    phone_number: str
    reason: str
    created_at: datetime


def columns(model: type[Row], alias: str = "") -> str:
    """The explicit column list of a struct, for SELECT and RETURNING clauses."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in model.__struct_fields__)
