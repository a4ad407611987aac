"""What the parts of a running call (its event loop, the tools' call control, the owner-question
host) may reach of the call they serve. `AgentCallSession` is the one implementation; the parts
depend on this interface, not on the session module, so the session can compose them."""

from __future__ import annotations

from typing import Any, Protocol

from engine.agent.call_tasks import CallTasks
from engine.agent.inbox import Inbox
from engine.agent.model_link import ModelLink
from engine.agent.options import AgentSessionOptions
from engine.agent.playout import Playout
from engine.agent.profile import AgentProfile
from engine.agent.questions import UserQuestions
from engine.agent.state import CallStatus
from engine.agent.task import AgentTask
from engine.agent.tools import CallControl, ToolContext, ToolRecords
from engine.agent.transcript import TranscriptLog
from engine.clock import Clock
from engine.ports.agent import CallMetrics, ToolCallRecord, TranscriptTurn
from engine.ports.telephony import OutboundCall


class Supervisor(Protocol):
    """Watches the call for what the model alone does not handle: who speaks first, dead air, the call's
    limits, voicemail (engine.agent.supervision). The loop tells it what happens."""

    async def start(self) -> None:
        """The call is answered and ready: listen first, or greet at once."""

    def touch(self) -> None:
        """Someone made a sound (agent audio sent or played)."""

    async def speech_started(self) -> None: ...

    async def speech_stopped(self) -> None: ...

    async def response_started(self, response_id: str) -> None: ...

    async def response_done(self) -> None: ...

    async def callee_audio(self, audio: bytes) -> None: ...

    async def callee_words(self, text: str) -> None:
        """The callee's transcribed words (an automated menu is recognised by them)."""

    async def machine_answered(self, evidence: str) -> None:
        """The model says a machine answered (its answering_machine_detected tool)."""


class LiveCall(Protocol):
    call: OutboundCall
    task: AgentTask
    clock: Clock
    options: AgentSessionOptions
    profile: AgentProfile
    status: CallStatus
    link: ModelLink
    playout: Playout | None
    tasks: CallTasks
    inbox: Inbox
    transcript: TranscriptLog
    metrics: CallMetrics
    records: ToolRecords
    tool_calls: list[ToolCallRecord]
    tool_context: ToolContext
    questions: UserQuestions
    control: CallControl
    answered_at: float | None
    owner_holding: bool  # the owner took the call over by voice (engine.agent.owner): the agent is muted
    supervision: Supervisor

    async def event(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Record a human-readable step of the call (a `call_events` row)."""

    async def record_turn(self, turn: TranscriptTurn) -> None:
        """Store a transcript turn as it ends; the record never ends the call."""

    async def hang_up(self, reason: str) -> None:
        """The agent hangs up (after its goodbye, or when it failed)."""

    async def callee_hung_up(self, reason: str) -> None: ...

    async def fail(self, reason: str) -> None:
        """The agent cannot go on: apologise if it can, then hang up. Once per call."""
