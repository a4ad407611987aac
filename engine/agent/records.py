"""What one call leaves behind: transcript turns, tool records, metrics, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from engine.ports.voice_model import Usage


@dataclass(frozen=True, slots=True)
class TranscriptTurn:
    speaker: Literal["agent", "callee"]
    text: str
    started_at: datetime  # UTC
    ended_at: datetime  # UTC
    truncated: bool = False  # the agent was interrupted; `text` may run past what was heard


@dataclass(frozen=True, slots=True)
class Outcome:
    achieved: bool
    summary: str
    facts_learned: tuple[str, ...] = ()
    do_not_call: bool = False  # the callee asked not to be called again
    wrong_number: bool = False  # the callee is not who the task meant to reach


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    at: datetime  # UTC
    note: str


@dataclass(slots=True)
class ToolRecords:
    """What the tools established during the call, for post-call analysis."""

    outcome: Outcome | None = None
    callback: CallbackRequest | None = None
    pending_question: str | None = None  # asked the user, no answer in time
    user_answers: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)
    answering_machine: bool = False
    voicemail_left: bool = False
    dtmf_sent: list[str] = field(default_factory=list)
    end_reason: str | None = None

    @property
    def pending_user_info(self) -> bool:
        return self.pending_question is not None


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


@dataclass(slots=True)
class AgentCallResult:
    call_id: str
    answered: bool
    transcript: list[TranscriptTurn]
    tools: ToolRecords
    tool_calls: list[ToolCallRecord]
    metrics: CallMetrics
    agent_failure: bool = False  # the voice model failed; the task should be retried
    failure_reason: str = ""
    hangup_by: str | None = None  # "agent" | "callee" | None when never answered
