"""The state of one call, and the one place it changes.

    RINGING ──> NOT_ANSWERED
       │
       └──> CONNECTING ──> CONVERSING ──> ENDING ──> ENDED
                │              │            │          ^
                └──────────────┴────────────┴─> FAILED ┘

CONNECTING: answered; the model session and the media are made ready.
ENDING: the agent said goodbye; the call is hung up once it has played. A goodbye the
    callee interrupts goes back to CONVERSING.
FAILED: the agent cannot go on; it apologises if it can, then hangs up.
ENDED: hung up by the agent or the callee, or torn down (`hangup_by` None).
Every live state may also go straight to ENDED (the callee hangs up, teardown).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class CallState(StrEnum):
    RINGING = "ringing"
    NOT_ANSWERED = "not_answered"
    CONNECTING = "connecting"
    CONVERSING = "conversing"
    ENDING = "ending"
    FAILED = "failed"
    ENDED = "ended"


S = CallState
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    S.RINGING: frozenset({S.CONNECTING, S.NOT_ANSWERED}),
    S.CONNECTING: frozenset({S.CONVERSING, S.FAILED, S.ENDED}),
    S.CONVERSING: frozenset({S.ENDING, S.FAILED, S.ENDED}),
    S.ENDING: frozenset({S.CONVERSING, S.FAILED, S.ENDED}),  # back: the callee interrupted the goodbye
    S.FAILED: frozenset({S.ENDED}),
    S.NOT_ANSWERED: frozenset(),
    S.ENDED: frozenset(),
}
WINDING_DOWN = frozenset({S.ENDING, S.FAILED, S.ENDED, S.NOT_ANSWERED})  # no new responses, no new goodbye
OVER = frozenset({S.ENDED, S.NOT_ANSWERED})


class IllegalTransition(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class CallStep:
    """A call event recorded with a transition (the `call_events` row it has always been)."""

    kind: str
    message: str
    data: dict[str, Any] | None = None


StepSink = Callable[[str, str, dict[str, Any] | None], Awaitable[None]]


class CallStatus:
    """Owns the call's state; `hangup_by` and `failure` are set by the moves that decide them."""

    def __init__(self, call_id: str, record: StepSink) -> None:
        self.call_id = call_id
        self.state = CallState.RINGING
        self.hangup_by: str | None = None  # "agent" | "callee", set on entering ENDED by a hang-up
        self.failure = ""  # why the agent failed, set on entering FAILED
        self._record = record

    async def set(
        self, new: CallState, step: CallStep | None = None, *, hangup_by: str | None = None, failure: str = ""
    ) -> None:
        """Move to `new` (or raise `IllegalTransition`), log `old -> new` and record `step`, if any."""
        old = self.state
        if new not in TRANSITIONS[old]:
            raise IllegalTransition(f"call {self.call_id}: {old} -> {new} is not allowed")
        self.state = new
        if new is CallState.ENDED:
            self.hangup_by = hangup_by
        if new is CallState.FAILED:
            self.failure = failure
        log.info("call %s: %s -> %s%s", self.call_id, old, new, f" ({step.message})" if step else "")
        if step is not None:
            await self._record(step.kind, step.message, step.data)

    def can_move_to(self, new: CallState) -> bool:
        return new in TRANSITIONS[self.state]

    @property
    def answered(self) -> bool:
        return self.state not in (CallState.RINGING, CallState.NOT_ANSWERED)

    @property
    def winding_down(self) -> bool:
        """The goodbye is under way or the call is over: no new responses."""
        return self.state in WINDING_DOWN

    @property
    def over(self) -> bool:
        return self.state in OVER

    @property
    def hung_up(self) -> bool:
        return self.hangup_by is not None
