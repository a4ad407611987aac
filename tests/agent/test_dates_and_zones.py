"""The model knows today's date and the time for the callee and the owner, and can schedule a
callback in the callee's local time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from db.models import Task, User
from engine.agent.profile import AgentProfile
from engine.agent.runner import agent_task_for
from engine.agent.tools import ALL_TOOLS, ToolContext, ToolRecords, invoke_tool
from tests.agent.rig import SETUP_EVENT, call_rig, dentist_task
from tests.clock import START

NOW = datetime(2026, 12, 1, 20, 4, tzinfo=UTC)  # a Tuesday


def zoned_task(**overrides):
    return dentist_task(callee_time_zone="America/New_York", owner_time_zone="Europe/Berlin", **overrides)


def test_instructions_give_the_date_and_both_local_times() -> None:
    text = AgentProfile.for_task(zoned_task(), NOW).instructions
    assert (
        "It is Tuesday 1 December 2026, 15:04 for the callee (America/New_York) "
        "and 21:04 for Anna Schmidt (Europe/Berlin)."
    ) in text
    assert "schedule_callback" in text and "local_time" in text


def test_instructions_name_the_owners_date_when_it_differs() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    text = AgentProfile.for_task(zoned_task(), late).instructions
    assert (
        "It is Tuesday 1 December 2026, 18:30 for the callee (America/New_York) "
        "and Wednesday 2 December 2026, 00:30 for Anna Schmidt (Europe/Berlin)."
    ) in text


async def test_the_voice_session_gets_the_date_when_the_call_starts(provider: str) -> None:
    async with call_rig([], task=zoned_task(), provider=provider) as rig:
        await rig.sim.wait_for_event(SETUP_EVENT[provider])
        instructions = rig.sim.sessions[0].session["instructions"]
    local = START.astimezone(ZoneInfo("America/New_York"))
    assert (
        f"It is {local:%A} {local.day} {local:%B %Y}, {local:%H:%M} for the callee (America/New_York)" in instructions
    )


def stored(phone: str, constraints: dict | None = None) -> Task:
    return Task(
        id=uuid4(),
        user_id=1,
        campaign_id=None,
        phone_number=phone,
        callee_name="Dr. Smile",
        objective="Move my cleaning",
        facts="",
        success_criteria="",
        constraints=constraints or {},
        status="dialing",
        priority=0,
        max_attempts=5,
        attempt_count=1,
        next_attempt_at=None,
        claimed_by="n",
        claimed_at=None,
        context={},
        result=None,
        failure_reason=None,
        created_at=NOW,
        updated_at=NOW,
    )


def owner(time_zone: str) -> User:
    return User(
        id=1, email="sam@example.test", display_name="Sam", role="user", time_zone=time_zone, profile={}, created_at=NOW
    )


@pytest.mark.parametrize(
    ("phone", "constraints", "owner_zone", "zones"),
    [
        ("+12125550123", None, "Europe/Berlin", ("America/New_York", "Europe/Berlin")),  # from the number
        ("+12125550123", {"time_zone": "America/Chicago"}, "Europe/Berlin", ("America/Chicago", "Europe/Berlin")),
        ("+15550100", None, "Europe/Berlin", ("Europe/Berlin", "Europe/Berlin")),  # unknown: the owner's
        ("+12125550123", None, "Nowhere/Atlantis", ("America/New_York", "UTC")),
    ],
)
def test_the_agent_task_carries_the_callees_and_the_owners_zone(phone, constraints, owner_zone, zones) -> None:
    agent_task = agent_task_for(stored(phone, constraints), owner(owner_zone))
    assert (agent_task.callee_time_zone, agent_task.owner_time_zone) == zones


async def schedule(arguments: dict):
    ctx = ToolContext(zoned_task(), _NoControl(), ToolRecords(), lambda: NOW, 45.0)
    result = await invoke_tool(ALL_TOOLS, "schedule_callback", json.dumps(arguments), ctx)
    return result, json.loads(result.output), ctx.records


class _NoControl:
    async def end_call(self, reason: str) -> None:
        raise AssertionError("schedule_callback never ends the call")

    async def send_dtmf(self, digits: str) -> None:
        raise AssertionError("schedule_callback presses no keys")

    def ask_user(self, question: str, timeout_s: float) -> None:
        raise AssertionError("schedule_callback asks nobody")

    @property
    def asking_user(self) -> bool:
        return False


async def test_schedule_callback_takes_a_local_time_and_a_zone() -> None:
    result, output, records = await schedule({"local_time": "2026-12-08T15:00", "time_zone": "America/New_York"})
    assert result.ok, output
    assert records.callback is not None and records.callback.at == datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
    assert output["scheduled_for"] == "2026-12-08T15:00:00-05:00"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"local_time": "2026-12-08T15:00", "time_zone": "Mars/Olympus"}, "not a time zone"),
        ({"local_time": "next tuesday", "time_zone": "America/New_York"}, "local_time"),
        ({"local_time": "2026-12-08T15:00-05:00", "time_zone": "America/New_York"}, "without an offset"),
        ({"local_time": "2026-12-08T15:00"}, "time_zone"),
        ({"time_zone": "America/New_York"}, "local_time"),
        ({}, "either"),
        ({"when": "2026-12-08T20:00:00+00:00", "local_time": "2026-12-08T15:00", "time_zone": "UTC"}, "either"),
        ({"local_time": "2026-12-01T14:00", "time_zone": "America/New_York"}, "future"),
        ({"local_time": "2027-03-14T02:30", "time_zone": "America/New_York"}, "does not exist"),
    ],
)
async def test_schedule_callback_shows_the_model_what_is_wrong(arguments: dict, problem: str) -> None:
    result, output, records = await schedule(arguments)
    assert not result.ok and problem in output["error"], output
    assert records.callback is None
