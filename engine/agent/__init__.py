"""The live voice agent.

What the agent *is* for a task: `AgentTask` -> `AgentProfile` (instructions,
greeting, tools). How one call *runs*: `AgentCallSession(call, task, model, ...).run()`
returns the `CallReport` (engine.ports.agent), moving through the `CallState`s
of engine.agent.state. Ports it needs: `CallRecorder` (engine.ports.call_record),
`UserInfoBroker` (engine.ports.owner_questions).
"""

from engine.agent.options import AgentSessionOptions
from engine.agent.profile import AgentProfile
from engine.agent.session import AgentCallSession, AgentFailureHook
from engine.agent.state import CallState
from engine.agent.task import AgentTask, MachinePolicy

__all__ = [
    "AgentCallSession",
    "AgentFailureHook",
    "AgentProfile",
    "AgentSessionOptions",
    "AgentTask",
    "CallState",
    "MachinePolicy",
]
