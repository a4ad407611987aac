"""What one call attempt needs from the voice agent, and what the agent reports back.

The attempt calls `AgentRunner.prepare(task, call_row, call)` as soon as the
phone rings (open the model session, render the greeting), then `AgentSession.run(call)`
once the callee answered, and `AgentSession.aclose()` on every path. `run`
returns when the conversation is over (agent or callee hung up, media closed);
the attempt hangs up whatever is left.

The report carries what the post-call analyzer needs. The voice agent fills it
from its tools: `record_outcome` -> `outcome`, `schedule_callback` ->
`callback`, `request_user_info` left unanswered -> `pending_question`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from db.models import Call, Task
from engine.ports.telephony import OutboundCall


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str  # "agent" | "callee" | "system"
    text: str
    started_at: datetime
    ended_at: datetime | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """The agent's `record_outcome` tool call."""

    achieved: bool
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """The agent's `schedule_callback` tool call: the callee asked to be called at `when`."""

    when: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class PendingQuestion:
    """A `request_user_info` question the owner had not answered by the end of the call."""

    question: str
    hitl_request_id: UUID | None = None  # the open hitl_requests row, when the agent created one


@dataclass(frozen=True, slots=True)
class AgentReport:
    transcript: tuple[Turn, ...] = ()
    transcript_stored: bool = False  # True: the agent already wrote transcript_turns itself
    outcome: RecordedOutcome | None = None
    callback: CallbackRequest | None = None
    pending_question: PendingQuestion | None = None
    answering_machine: bool = False
    do_not_call: bool = False  # the callee asked not to be called again
    wrong_number: bool = False
    agent_failure: bool = False
    failure_detail: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # stored on the call (calls.metrics)


class AgentSession(Protocol):
    async def run(self, call: OutboundCall) -> AgentReport:
        """Hold the conversation on the answered call; return when it is over."""

    async def aclose(self) -> None:
        """Release the model session; called on every path, also when never answered."""


class AgentRunner(Protocol):
    async def prepare(self, task: Task, call_row: Call, call: OutboundCall) -> AgentSession:
        """Get ready while the phone rings (open the model session, prepare the greeting)."""
