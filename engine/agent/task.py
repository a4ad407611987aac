"""The task one call works on: who is called, for whom, and what must come of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MachinePolicy(StrEnum):
    """What to do when an answering machine picks up."""

    LEAVE_MESSAGE = "leave_message"
    HANG_UP = "hang_up"


@dataclass(frozen=True, slots=True)
class AgentTask:
    task_id: str
    user_name: str  # on whose behalf the agent calls
    callee_name: str
    phone: str  # E.164
    objective: str
    facts: tuple[str, ...] = ()  # the only information the agent may share
    constraints: tuple[str, ...] = ()  # e.g. "only Tuesday afternoons after 2 pm"
    success_criteria: tuple[str, ...] = ()
    carried_context: tuple[str, ...] = ()  # from earlier attempts, e.g. answers the user gave
    machine_policy: MachinePolicy = MachinePolicy.HANG_UP
    machine_message: str = ""  # what to leave on a machine; empty: a short generic message
    callee_time_zone: str = "UTC"  # IANA name, from the number (engine.tasks.calling_window)
    owner_time_zone: str = "UTC"  # the user's

    def voicemail_text(self) -> str:
        if self.machine_message:
            return self.machine_message
        return (
            f"Hello, this is an AI assistant calling on behalf of {self.user_name} for {self.callee_name}. "
            "We will try to reach you again later. Goodbye."
        )
