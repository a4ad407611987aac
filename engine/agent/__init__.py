"""The live voice agent.

What the agent *is* for a task: `AgentTask` -> `AgentProfile` (instructions,
greeting, tools). How one call *runs*: `AgentCallSession(call, task, model, ...).run()`
returns an `AgentCallResult`. Ports it needs: `CallRecorder`, `UserInfoBroker`.
"""

from engine.agent.options import AgentSessionOptions
from engine.agent.ports import CallRecorder, InMemoryCallRecorder, InMemoryUserInfoBroker, UserInfoBroker, UserQuestion
from engine.agent.profile import AgentProfile
from engine.agent.records import AgentCallResult, CallMetrics, ToolRecords, TranscriptTurn
from engine.agent.session import AgentCallSession, AgentFailureHook
from engine.agent.task import AgentTask, MachinePolicy

__all__ = [
    "AgentCallResult",
    "AgentCallSession",
    "AgentFailureHook",
    "AgentProfile",
    "AgentSessionOptions",
    "AgentTask",
    "CallMetrics",
    "CallRecorder",
    "InMemoryCallRecorder",
    "InMemoryUserInfoBroker",
    "MachinePolicy",
    "ToolRecords",
    "TranscriptTurn",
    "UserInfoBroker",
    "UserQuestion",
]
