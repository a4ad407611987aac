"""Dial policy: may this task be dialled now, and if not, what happens to it.

Pure functions of the task, its owner, the do-not-call entry and `now`; the
dialer fetches what they need and applies the decision. The task's calling
window and deadline are read by `engine.tasks.calling_window`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.models import DndNumber, Task, User
from engine.tasks.calling_window import ConstraintError, calling_window, task_deadline


@dataclass(frozen=True, slots=True)
class Allow:
    destination: str


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Block:
    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


Decision = Allow | Defer | Block | GiveUp


@dataclass(frozen=True, slots=True)
class DialPolicy:
    window_start: str = "09:00"
    window_end: str = "20:00"
    test_mode: bool = False
    test_destination: str = ""

    def decide(self, task: Task, user: User, dnd: DndNumber | None, now: datetime, *, attempt: int) -> Decision:
        """Whether attempt number `attempt` of `task` may be dialled at `now`."""
        if dnd is not None:
            which = "the global" if dnd.user_id is None else "your"
            why = f": {dnd.reason}" if dnd.reason else ""
            return Block(f"{task.phone_number} is on {which} do-not-call list{why}")
        if attempt > task.max_attempts:
            return GiveUp(f"All {task.max_attempts} attempts used")
        try:
            window = calling_window(task, user, default_start=self.window_start, default_end=self.window_end)
            deadline = task_deadline(task)
        except ConstraintError as exc:
            return GiveUp(f"The task's calling constraints are invalid: {exc}")
        if deadline is not None and now >= deadline:
            return GiveUp(f"The deadline ({window.local_label(deadline)}) has passed")
        if not window.contains(now):
            opening = window.next_opening(now)
            local_now = now.astimezone(window.zone)
            return Defer(
                opening,
                f"Outside calling hours in {window.zone.key} ({local_now:%H:%M}); "
                f"next attempt {window.local_label(opening)}",
            )
        return Allow(self.test_destination if self.test_mode else task.phone_number)
