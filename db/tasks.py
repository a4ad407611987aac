"""Tasks: one objective with one callee, and the guarded status transitions.

A transition is one `TaskMove` applied by one SQL statement: it locks the row,
moves it only if it is in one of the expected states, writes the `task_events`
row and queues the NOTIFY, all or nothing. Which transitions are legal is the
engine's business (`engine.tasks.states`); this module only guarantees the guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from db.errors import InvalidInput, NotFound, TransitionRefused
from db.models import Executor, Task, TaskStatus, columns
from db.notify import CHANNEL
from db.validation import check_length, normalize_phone_number

_TASK = columns(Task)
_STATUSES = frozenset(s.value for s in TaskStatus)
EDITABLE_STATUSES = (
    TaskStatus.DRAFT,
    TaskStatus.SCHEDULED,
    TaskStatus.RETRY_SCHEDULED,
    TaskStatus.PENDING_USER_INFO,
)
# Columns a transition may change besides the status, and how.
_TRANSITION_COLUMNS = {
    "next_attempt_at": "next_attempt_at = ${}",
    "claimed_by": "claimed_by = ${}",
    "claimed_at": "claimed_at = ${}",
    "failure_reason": "failure_reason = ${}",
    "result": "result = ${}",
    "context": "context = t.context || ${}::jsonb",
    "attempt_count": "attempt_count = ${}",
}


class TaskDraft(msgspec.Struct, kw_only=True):
    """What a person (or the planner) asks for; validated by `validate_draft`."""

    phone_number: str
    objective: str
    callee_name: str = ""
    facts: str = ""
    success_criteria: str = ""
    constraints: dict[str, Any] = {}
    priority: int = 0
    max_attempts: int = 5
    greet_first: bool = False  # greet on answer instead of letting the callee speak first
    voicemail: str = "hang_up"  # one of VOICEMAIL_POLICIES
    voice_provider: str | None = None  # "realtime" | "live"; None: the installation's default


VOICEMAIL_POLICIES = ("leave_message", "hang_up", "call_back_later")
VOICE_PROVIDERS = ("realtime", "live")


def validate_draft(draft: TaskDraft, default_region: str | None = None) -> TaskDraft:
    """Return the draft with its number in E.164, or raise InvalidInput naming the field."""
    if not -100 <= draft.priority <= 100:
        raise InvalidInput("priority", "must be between -100 and 100")
    if not 1 <= draft.max_attempts <= 50:
        raise InvalidInput("max_attempts", "must be between 1 and 50")
    if draft.voicemail not in VOICEMAIL_POLICIES:
        raise InvalidInput("voicemail", f"must be one of {', '.join(VOICEMAIL_POLICIES)}")
    if draft.voice_provider not in (None, *VOICE_PROVIDERS):
        raise InvalidInput("voice_provider", f"must be one of {', '.join(VOICE_PROVIDERS)} (or empty for the default)")
    return msgspec.structs.replace(
        draft,
        phone_number=normalize_phone_number(draft.phone_number, default_region),
        objective=check_length("objective", draft.objective, 4000, required=True).strip(),
        callee_name=check_length("callee_name", draft.callee_name, 200).strip(),
        facts=check_length("facts", draft.facts, 8000),
        success_criteria=check_length("success_criteria", draft.success_criteria, 4000),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskMove:
    """One task transition, passed down whole: from one of `expected` to `to`, because `why`.

    `why` is the event's message a person reads; `changes` are the columns set with
    the status (only those in `_TRANSITION_COLUMNS`; `context` is merged, not
    replaced). `expected` may be one state or several; None means "every state
    `to` is legal from", which only the engine's state machine can say
    (`engine.tasks.states.move_task` fills it in after checking the move).

    A move is checked when it is made: unknown states, columns a transition cannot
    set and an empty or over-long `why` raise here, before anything is sent.
    """

    to: TaskStatus
    why: str
    expected: frozenset[TaskStatus] | TaskStatus | None = None  # one state becomes a frozenset of it
    changes: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "status"
    actor: str = "system"
    call_id: UUID | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", _status(self.to))
        if self.expected is not None:
            given: Iterable[Any] = (self.expected,) if isinstance(self.expected, str) else self.expected
            object.__setattr__(self, "expected", frozenset(_status(s) for s in given))
        check_length("message", self.why, 2000, required=True)
        for column in self.changes:
            if column not in _TRANSITION_COLUMNS:
                raise ValueError(f"a transition cannot set {column}")


def _status(value: Any) -> TaskStatus:
    if value not in _STATUSES:
        raise InvalidInput("status", f"{value!r} is not a task status")
    return TaskStatus(value)


async def create_task(
    conn: Executor,
    user_id: int,
    draft: TaskDraft,
    *,
    campaign_id: UUID | None = None,
    schedule_at: datetime | None = None,
    default_region: str | None = None,
    actor: str = "user",
) -> Task:
    """Insert a task (scheduled when `schedule_at` is given, else a draft) and its first event."""
    draft = validate_draft(draft, default_region)
    status = TaskStatus.SCHEDULED if schedule_at else TaskStatus.DRAFT
    record = await conn.fetchrow(
        f"""
        WITH owner_ok AS (
            SELECT 1 WHERE $2::uuid IS NULL
               OR EXISTS (SELECT 1 FROM campaigns WHERE id = $2 AND user_id = $1)
        ), created AS (
            INSERT INTO tasks (user_id, campaign_id, phone_number, callee_name, objective, facts,
                               success_criteria, constraints, status, priority, max_attempts,
                               next_attempt_at, greet_first, voicemail, voice_provider)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $16, $17, $18 FROM owner_ok
            RETURNING {_TASK}
        ), event AS (
            INSERT INTO task_events (user_id, task_id, kind, to_status, actor, message)
            SELECT user_id, id, 'created', status, $13, $14 FROM created
        ), notified AS (
            SELECT pg_notify($15, json_build_object(
                'kind', 'task', 'user_id', user_id, 'task_id', id, 'status', status)::text) FROM created
        )
        SELECT {_TASK}, (SELECT count(*) FROM notified) AS notified FROM created
        """,
        user_id,
        campaign_id,
        draft.phone_number,
        draft.callee_name,
        draft.objective,
        draft.facts,
        draft.success_criteria,
        draft.constraints,
        status.value,
        draft.priority,
        draft.max_attempts,
        schedule_at,
        actor,
        f"Task created for {draft.callee_name or draft.phone_number}",
        CHANNEL,
        draft.greet_first,
        draft.voicemail,
        draft.voice_provider,
    )
    if record is None:
        raise NotFound("campaign", campaign_id)
    return Task(**{name: record[name] for name in Task.__struct_fields__})


async def get_task(conn: Executor, user_id: int, task_id: UUID) -> Task:
    record = await conn.fetchrow(f"SELECT {_TASK} FROM tasks WHERE id = $1 AND user_id = $2", task_id, user_id)
    if record is None:
        raise NotFound("task", task_id)
    return Task.from_record(record)


async def list_tasks(
    conn: Executor,
    user_id: int,
    *,
    status: str | None = None,
    campaign_id: UUID | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Task]:
    if status is not None and status not in _STATUSES:
        raise InvalidInput("status", f"{status!r} is not a task status")
    pattern = None
    if search:
        escaped = check_length("search", search, 200).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    records = await conn.fetch(
        f"""SELECT {_TASK} FROM tasks
            WHERE user_id = $1
              AND ($2::text IS NULL OR status = $2)
              AND ($3::uuid IS NULL OR campaign_id = $3)
              AND ($4::text IS NULL OR callee_name ILIKE $4 OR objective ILIKE $4 OR phone_number LIKE $4)
            ORDER BY created_at DESC, id LIMIT $5 OFFSET $6""",
        user_id,
        status,
        campaign_id,
        pattern,
        limit,
        offset,
    )
    return [Task.from_record(r) for r in records]


async def count_tasks_by_status(conn: Executor, user_id: int, campaign_id: UUID | None = None) -> dict[str, int]:
    records = await conn.fetch(
        """SELECT status, count(*) AS n FROM tasks
           WHERE user_id = $1 AND ($2::uuid IS NULL OR campaign_id = $2) GROUP BY status""",
        user_id,
        campaign_id,
    )
    return {r["status"]: r["n"] for r in records}


async def update_task(
    conn: Executor, user_id: int, task_id: UUID, draft: TaskDraft, *, default_region: str | None = None
) -> Task:
    """Edit what the task asks for; only while it is not being dialled or finished."""
    draft = validate_draft(draft, default_region)
    record = await conn.fetchrow(
        f"""
        WITH current AS (SELECT id, status FROM tasks WHERE id = $1 AND user_id = $2 FOR UPDATE),
        changed AS (
            UPDATE tasks t SET phone_number = $3, callee_name = $4, objective = $5, facts = $6,
                   success_criteria = $7, constraints = $8, priority = $9, max_attempts = $10,
                   greet_first = $12, voicemail = $13, voice_provider = $14, updated_at = now()
            FROM current c WHERE t.id = c.id AND c.status = ANY($11::text[])
            RETURNING {columns(Task, "t")}
        ), event AS (
            INSERT INTO task_events (user_id, task_id, kind, actor, message)
            SELECT user_id, id, 'edited', 'user', 'Task details edited' FROM changed
        )
        SELECT c.status AS current_status, changed.* FROM current c LEFT JOIN changed ON true
        """,
        task_id,
        user_id,
        draft.phone_number,
        draft.callee_name,
        draft.objective,
        draft.facts,
        draft.success_criteria,
        draft.constraints,
        draft.priority,
        draft.max_attempts,
        [s.value for s in EDITABLE_STATUSES],
        draft.greet_first,
        draft.voicemail,
        draft.voice_provider,
    )
    return _moved_or_raise(record, task_id, "edited")


async def delete_task(conn: Executor, user_id: int, task_id: UUID) -> None:
    """Delete a task that is not on a call right now (its calls and events go with it)."""
    record = await conn.fetchrow(
        """
        WITH current AS (SELECT id, status FROM tasks WHERE id = $1 AND user_id = $2 FOR UPDATE),
        gone AS (DELETE FROM tasks t USING current c
                 WHERE t.id = c.id AND c.status NOT IN ('dialing', 'in_call') RETURNING t.id)
        SELECT c.status AS current_status, (SELECT count(*) FROM gone) AS deleted FROM current c
        """,
        task_id,
        user_id,
    )
    if record is None:
        raise NotFound("task", task_id)
    if not record["deleted"]:
        raise TransitionRefused(task_id, record["current_status"], "deleted")


async def transition_task(conn: Executor, user_id: int, task_id: UUID, move: TaskMove) -> Task:
    """Apply `move` in one guarded statement: from one of `move.expected` to `move.to`.

    Raises NotFound when the user has no such task and TransitionRefused when it
    is in another state (for instance because a concurrent transition won).
    """
    if move.expected is None:
        raise ValueError(f"a move to {move.to} must name the states it may leave (engine.tasks.states fills them)")
    params: list[Any] = [
        task_id,
        user_id,
        sorted(s.value for s in move.expected),
        move.to.value,
        move.call_id,
        move.kind,
        move.actor,
        move.why,
        dict(move.data),
        CHANNEL,
    ]
    sets = []
    for column, value in move.changes.items():
        params.append(value)
        sets.append(_TRANSITION_COLUMNS[column].format(len(params)))
    extra = "".join(f", {s}" for s in sets)
    record = await conn.fetchrow(
        f"""
        WITH current AS (SELECT id, status FROM tasks WHERE id = $1 AND user_id = $2 FOR UPDATE),
        moved AS (
            UPDATE tasks t SET status = $4, updated_at = now(){extra}
            FROM current c WHERE t.id = c.id AND c.status = ANY($3::text[])
            RETURNING {columns(Task, "t")}, c.status AS from_status
        ), event AS (
            INSERT INTO task_events (user_id, task_id, call_id, kind, from_status, to_status, actor, message, data)
            SELECT user_id, id, $5, $6, from_status, status, $7, $8, $9 FROM moved
        ), notified AS (
            SELECT pg_notify($10, json_build_object(
                'kind', 'task', 'user_id', user_id, 'task_id', id, 'status', status)::text) FROM moved
        )
        SELECT c.status AS current_status, m.*, (SELECT count(*) FROM notified) AS notified
        FROM current c LEFT JOIN moved m ON true
        """,
        *params,
    )
    return _moved_or_raise(record, task_id, move.to.value)


def _moved_or_raise(record: Any, task_id: UUID, wanted: str) -> Task:
    if record is None:
        raise NotFound("task", task_id)
    if record["id"] is None:
        raise TransitionRefused(task_id, record["current_status"], wanted)
    return Task(**{name: record[name] for name in Task.__struct_fields__})


async def merge_task_context(conn: Executor, user_id: int, task_id: UUID, context: Mapping[str, Any]) -> Task:
    """Add keys to what is carried between attempts (e.g. a HITL answer)."""
    record = await conn.fetchrow(
        f"""UPDATE tasks SET context = context || $3::jsonb, updated_at = now()
            WHERE id = $1 AND user_id = $2 RETURNING {_TASK}""",
        task_id,
        user_id,
        dict(context),
    )
    if record is None:
        raise NotFound("task", task_id)
    return Task.from_record(record)
