"""Dial policy and retry timing: pure functions of the task, the owner and `now`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from db.models import DndNumber
from engine.lifecycle.policy import Allow, Block, Defer, DialPolicy, GiveUp
from engine.lifecycle.retry import MAX_DELAY, OutOfAttempts, RetryAt, backoff, plan_retry
from engine.tasks.calling_window import callee_time_zone, calling_window
from tests.lifecycle.builders import T0, task, user

POLICY = DialPolicy(window_start="09:00", window_end="20:00")
# Monday 2030-01-07 21:14 in New York (= Tuesday 02:14 UTC)
NY_EVENING = datetime(2030, 1, 8, 2, 14, tzinfo=UTC)


def test_outside_hours_in_the_callees_zone_defers_to_the_next_opening():
    decision = POLICY.decide(task(), user(), None, NY_EVENING, attempt=1)
    assert decision == Defer(
        datetime(2030, 1, 8, 14, 0, tzinfo=UTC),
        "Outside calling hours in America/New_York (21:14); next attempt Tue 09:00",
    )


def test_inside_hours_allows_the_callees_number():
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)  # 10:00 in New York
    assert POLICY.decide(task(), user(), None, at, attempt=1) == Allow("+12125550123")


def test_task_constraints_override_window_days_and_zone():
    constrained = task(constraints={"window": {"start": "14:00", "end": "17:00"}, "days": ["tue"],
                                    "time_zone": "Europe/Paris"})
    wednesday_15h_paris = datetime(2030, 1, 9, 14, 0, tzinfo=UTC)
    decision = POLICY.decide(constrained, user(), None, wednesday_15h_paris, attempt=1)
    assert isinstance(decision, Defer)
    assert decision.until == datetime(2030, 1, 15, 13, 0, tzinfo=UTC)  # next Tuesday 14:00 Paris
    assert decision.reason.endswith("next attempt Tue 14:00")


def test_user_profile_window_applies_when_the_task_has_none():
    early_user = user(profile={"calling_window": {"start": "07:00", "end": "08:00"}})
    at = datetime(2030, 1, 8, 12, 30, tzinfo=UTC)  # 07:30 New York
    assert isinstance(POLICY.decide(task(), early_user, None, at, attempt=1), Allow)
    assert isinstance(POLICY.decide(task(), user(), None, at, attempt=1), Defer)


def test_number_spanning_many_zones_uses_the_owners_zone():
    assert callee_time_zone("+18005550123", "Europe/Berlin").key == "Europe/Berlin"
    assert callee_time_zone("+4930123456", "America/New_York").key == "Europe/Berlin"


def test_do_not_call_blocks_and_budget_gives_up():
    entry = DndNumber(id=1, user_id=None, phone_number="+12125550123", reason="complaint", created_at=T0)
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
    assert POLICY.decide(task(), user(), entry, at, attempt=1) == Block(
        "+12125550123 is on the global do-not-call list: complaint"
    )
    assert POLICY.decide(task(max_attempts=2), user(), None, at, attempt=3) == GiveUp("All 2 attempts used")


def test_bad_constraints_give_up_with_the_field_named():
    decision = POLICY.decide(task(constraints={"window": {"start": "18:00", "end": "09:00"}}), user(), None,
                             NY_EVENING, attempt=1)
    assert isinstance(decision, GiveUp) and "window" in decision.reason


def test_test_mode_redirects_every_call():
    policy = DialPolicy(test_mode=True, test_destination="+15550000000")
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
    assert policy.decide(task(), user(), None, at, attempt=1) == Allow("+15550000000")


def window():
    return calling_window(task(), user(), default_start="09:00", default_end="20:00")


def test_busy_retries_soon_and_no_answer_later():
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)  # Tue 10:00 New York
    rng = random.Random(1)
    busy = plan_retry(reason="busy", attempt=1, max_attempts=5, now=at, window=window(), rng=rng)
    no_answer = plan_retry(reason="no_answer", attempt=1, max_attempts=5, now=at, window=window(), rng=rng)
    assert isinstance(busy, RetryAt) and isinstance(no_answer, RetryAt)
    assert timedelta(minutes=4) <= busy.at - at <= timedelta(minutes=6)
    assert timedelta(minutes=50) <= no_answer.at - at <= timedelta(minutes=70)
    local = busy.at.astimezone(window().zone)
    assert busy.message == f"Retry scheduled for Tue {local:%H:%M} (busy, attempt 2 of 5)"


def test_backoff_grows_and_is_capped():
    rng = random.Random(2)
    delays = [backoff("no_answer", n, rng) for n in range(1, 12)]
    assert delays[1] > delays[0] * 1.5
    assert max(delays) <= MAX_DELAY


def test_callee_requested_time_wins_and_is_moved_into_the_window():
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
    asked = datetime(2030, 1, 9, 3, 0, tzinfo=UTC)  # 22:00 New York
    planned = plan_retry(reason="callback", attempt=1, max_attempts=5, now=at, window=window(), requested_at=asked)
    assert planned == RetryAt(
        datetime(2030, 1, 9, 14, 0, tzinfo=UTC),
        "Retry scheduled for Wed 09:00 moved into calling hours (callee asked to be called back, attempt 2 of 5)",
    )


def test_last_attempt_ends_the_budget():
    planned = plan_retry(reason="busy", attempt=5, max_attempts=5, now=T0, window=window())
    assert planned == OutOfAttempts("Gave up after 5 of 5 attempts (last: busy)")


@pytest.mark.parametrize("days", [["tue", "thu"], ["Saturday"]])
def test_window_days_accept_names(days):
    w = calling_window(task(constraints={"days": days}), user(), default_start="09:00", default_end="20:00")
    assert len(w.days) == len(days)


def test_a_window_until_24_00_includes_the_last_minute_of_the_day():
    all_day = DialPolicy(window_start="00:00", window_end="24:00")
    last_minute = datetime(2030, 1, 8, 4, 59, 30, tzinfo=UTC)  # 23:59:30 in New York
    assert all_day.decide(task(), user(), None, last_minute, attempt=1) == Allow("+12125550123")
    until_23_59 = DialPolicy(window_start="00:00", window_end="23:59")
    assert isinstance(until_23_59.decide(task(), user(), None, last_minute, attempt=1), Defer)


def test_no_attempt_after_the_tasks_deadline():
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)  # 10:00 in New York, inside the window
    before = task(constraints={"latest": (at + timedelta(hours=1)).isoformat()})
    assert POLICY.decide(before, user(), None, at, attempt=1) == Allow("+12125550123")
    after = task(constraints={"latest": (at - timedelta(minutes=1)).isoformat()})
    decision = POLICY.decide(after, user(), None, at, attempt=1)
    assert isinstance(decision, GiveUp) and "deadline" in decision.reason and "has passed" in decision.reason
    unreadable = task(constraints={"latest": "next week"})
    assert isinstance(POLICY.decide(unreadable, user(), None, at, attempt=1), GiveUp)


def test_a_retry_past_the_deadline_ends_the_task():
    at = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
    deadline = at + timedelta(minutes=30)  # a no-answer retry comes an hour later
    planned = plan_retry(reason="no_answer", attempt=1, max_attempts=5, now=at, window=window(), deadline=deadline,
                         rng=random.Random(0))
    assert isinstance(planned, OutOfAttempts) and "past the deadline" in planned.message
    busy = plan_retry(reason="busy", attempt=1, max_attempts=5, now=at, window=window(), deadline=deadline,
                      rng=random.Random(0))
    assert isinstance(busy, RetryAt) and busy.at < deadline
