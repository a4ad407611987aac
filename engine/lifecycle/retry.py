"""When to try again after an attempt that did not settle the task (pure functions of `now`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.tasks.calling_window import CallingWindow

# First delay by why the attempt did not settle; later ones double (with jitter) up to the cap.
BASE_DELAY: dict[str, timedelta] = {
    "busy": timedelta(minutes=5),
    "no_answer": timedelta(hours=1),
    "congestion": timedelta(minutes=10),
    "unavailable": timedelta(minutes=30),
    "rejected": timedelta(hours=2),
    "failed": timedelta(minutes=15),
    "answering_machine": timedelta(hours=2),
    "voicemail_left": timedelta(hours=4),  # give the callee time to call back first
    "no_response": timedelta(hours=1),
    "inconclusive": timedelta(minutes=30),
    "agent_failure": timedelta(minutes=10),
    "node_lost": timedelta(minutes=2),
}
DEFAULT_DELAY = timedelta(minutes=30)
MAX_DELAY = timedelta(hours=24)
JITTER = 0.1  # +/- 10 %: spreads retries of many tasks that failed together


@dataclass(frozen=True, slots=True)
class RetryAt:
    at: datetime
    message: str


@dataclass(frozen=True, slots=True)
class OutOfAttempts:
    message: str


def backoff(reason: str, attempt: int, rng: random.Random | None = None) -> timedelta:
    """Delay after attempt number `attempt` (1-based) failed for `reason`."""
    base = BASE_DELAY.get(reason, DEFAULT_DELAY)
    delay = min(base * (2 ** max(attempt - 1, 0)), MAX_DELAY)
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return min(delay * factor, MAX_DELAY)


def plan_retry(
    *,
    reason: str,
    attempt: int,
    max_attempts: int,
    now: datetime,
    window: CallingWindow,
    requested_at: datetime | None = None,
    rng: random.Random | None = None,
    deadline: datetime | None = None,
) -> RetryAt | OutOfAttempts:
    """The next attempt's time, placed inside the calling window, or the end of the budget.

    A time the callee asked for wins over the backoff.
    """
    label = reason.replace("_", " ")
    if attempt >= max_attempts:
        return OutOfAttempts(f"Gave up after {attempt} of {max_attempts} attempts (last: {label})")
    if requested_at is not None and requested_at > now:
        wanted, why = requested_at, "callee asked to be called back"
    else:
        wanted, why = now + backoff(reason, attempt, rng), label
    at = window.next_opening(wanted)
    if deadline is not None and at >= deadline:
        return OutOfAttempts(
            f"Gave up after {attempt} of {max_attempts} attempts (last: {label}): "
            f"the next opening ({window.local_label(at)}) is past the deadline ({window.local_label(deadline)})"
        )
    moved = " moved into calling hours" if at != wanted else ""
    return RetryAt(
        at,
        f"Retry scheduled for {window.local_label(at)}{moved} ({why}, attempt {attempt + 1} of {max_attempts})",
    )
