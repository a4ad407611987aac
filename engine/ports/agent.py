"""What one call attempt needs from the voice agent, and the one report the agent hands back.

The attempt calls `AgentRunner.prepare(task, call_row, call)` as soon as the
phone rings (open the model session, render the greeting), then `AgentSession.run(call)`
once the callee answered, and `AgentSession.aclose()` on every path. `run`
returns when the conversation is over (agent or callee hung up, media closed);
the attempt hangs up whatever is left.

The `CallReport` carries what the post-call analyzer and the call's record
need. The voice agent fills it from its tools: `record_outcome` -> `objective`,
`schedule_callback` -> `callback`, `request_user_info` left unanswered ->
`pending_question`. ("Outcome" is the telephony `CallOutcome` only.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from db.models import Call, Task
from engine.ports.telephony import OutboundCall
from engine.ports.voice_model import Usage


@dataclass(frozen=True, slots=True)
class TranscriptTurn:
    speaker: str  # "agent" | "callee"
    text: str
    started_at: datetime  # UTC
    ended_at: datetime | None = None  # UTC; the agent always knows it
    truncated: bool = False  # the agent was interrupted; `text` is cut to about what was heard
    inaudible: bool = False  # the callee spoke but no words came through; `text` is a marker


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    """The agent's `record_outcome` tool call: was the task's objective met?"""

    achieved: bool
    summary: str
    facts_learned: tuple[str, ...] = ()
    do_not_call: bool = False  # the callee asked not to be called again
    wrong_number: bool = False  # the callee is not who the task meant to reach


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """The agent's `schedule_callback` tool call: the callee asked to be called at `at`."""

    at: datetime  # UTC
    note: str = ""


@dataclass(frozen=True, slots=True)
class PendingQuestion:
    """A `request_user_info` question the owner had not answered by the end of the call."""

    question: str
    hitl_request_id: UUID | None = None  # the open hitl_requests row, when the agent created one


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    name: str
    arguments: str
    output: str
    ok: bool
    at: datetime


@dataclass(slots=True)
class CallMetrics:
    time_to_first_audio_ms: float | None = None  # answer -> first agent audio handed to the media
    turn_latencies_ms: list[float] = field(default_factory=list)  # callee stopped -> first agent audio
    barge_ins: int = 0
    tool_calls: int = 0
    reconnects: int = 0
    rate_limit_hits: int = 0
    usage: Usage = field(default_factory=Usage)
    estimated_cost_usd: float = 0.0
    voice_provider: str = ""  # which API served the call: "realtime" | "live"
    voice_model: str = ""


def metrics_as_json(metrics: CallMetrics) -> dict[str, Any]:
    """The call's metrics as stored on `calls.metrics` (the keys the call page shows)."""
    report = {key: value for key, value in dataclasses.asdict(metrics).items() if value is not None}
    latencies = sorted(metrics.turn_latencies_ms)
    if latencies:
        report["turn_latency_ms"] = round(latencies[len(latencies) // 2])
        report["turn_latency_p95_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))])
    return report


@dataclass(frozen=True, slots=True)
class CallReport:
    """What one call left behind, from the agent to the lifecycle."""

    answered: bool = True  # False only when the callee never answered (the lifecycle runs answered calls only)
    transcript: tuple[TranscriptTurn, ...] = ()
    transcript_stored: bool = False  # True: the agent already wrote transcript_turns itself
    objective: ObjectiveResult | None = None
    callback: CallbackRequest | None = None
    pending_question: PendingQuestion | None = None
    user_answers: tuple[tuple[str, str], ...] = ()  # (question, answer) the owner gave during the call
    answering_machine: bool = False
    voicemail_left: bool = False
    dtmf_sent: tuple[str, ...] = ()
    end_reason: str | None = None  # why the agent ended the call
    no_response: bool = False  # answered, then silent through the agent's check-in: the agent gave up
    intercept: str = ""  # the network's intercept answered (SIT tones): the number is dead; why
    agent_failure: bool = False  # the voice model failed; the task should be retried
    failure_reason: str = ""
    hangup_by: str | None = None  # "agent" | "callee" | None when never answered
    tool_calls: tuple[ToolCallRecord, ...] = ()
    metrics: CallMetrics | None = None  # stored on the call (calls.metrics) by the attempt

    @property
    def do_not_call(self) -> bool:
        return self.objective is not None and self.objective.do_not_call

    @property
    def wrong_number(self) -> bool:
        return self.objective is not None and self.objective.wrong_number


class AgentSession(Protocol):
    async def run(self, call: OutboundCall) -> CallReport:
        """Hold the conversation on the answered call; return when it is over."""

    async def end_for_owner(self, reason: str) -> None:
        """The task was cancelled during the call: a short goodbye, then hang up; `run` then returns."""

    async def aclose(self) -> None:
        """Release the model session; called on every path, also when never answered."""


class AgentRunner(Protocol):
    async def prepare(self, task: Task, call_row: Call, call: OutboundCall) -> AgentSession:
        """Get ready while the phone rings (open the model session, prepare the greeting)."""
