"""Tool validation and the agent's instructions, without any network."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine.agent.profile import AgentProfile
from engine.agent.task import MachinePolicy
from engine.agent.tools import ALL_TOOLS, ToolContext, ToolRecords, invoke_tool
from tests.agent.rig import dentist_task

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Control:
    def __init__(self) -> None:
        self.ended: list[str] = []
        self.dtmf: list[str] = []
        self.asked: list[tuple[str, float]] = []

    async def end_call(self, reason: str) -> None:
        self.ended.append(reason)

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf.append(digits)

    def ask_user(self, question: str, timeout_s: float) -> None:
        self.asked.append((question, timeout_s))

    @property
    def asking_user(self) -> bool:
        return bool(self.asked)


def context(**task_overrides) -> tuple[ToolContext, Control]:
    control = Control()
    return ToolContext(dentist_task(**task_overrides), control, ToolRecords(), lambda: NOW, 45.0), control


async def call(ctx: ToolContext, name: str, arguments: dict | str):
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    result = await invoke_tool(ALL_TOOLS, name, text, ctx)
    return result, json.loads(result.output)


@pytest.mark.parametrize("digits", ["123#", "*0", "9" * 24])
async def test_send_dtmf_accepts_keypad_digits(digits: str) -> None:
    ctx, control = context()
    result, _ = await call(ctx, "send_dtmf", {"digits": digits})
    assert result.ok and control.dtmf == [digits] and ctx.records.dtmf_sent == [digits]


@pytest.mark.parametrize("digits", ["", "12a", "1 2", "9" * 25, "1,2", "w1"])
async def test_send_dtmf_refuses_anything_else(digits: str) -> None:
    ctx, control = context()
    result, output = await call(ctx, "send_dtmf", {"digits": digits})
    assert not result.ok and "digits" in output["error"] and control.dtmf == []


@pytest.mark.parametrize("arguments", ["{not json", "[]", '{"digits": 5}', '{"digits": "1", "extra": true}'])
async def test_malformed_arguments_become_errors(arguments: str) -> None:
    ctx, control = context()
    result, output = await call(ctx, "send_dtmf", arguments)
    assert not result.ok and output["error"].startswith("invalid arguments") and result.respond


async def test_unknown_tool_is_refused() -> None:
    ctx, _ = context()
    result, output = await call(ctx, "transfer_money", {})
    assert not result.ok and "unknown tool" in output["error"]


async def test_schedule_callback_validates_time() -> None:
    ctx, _ = context()
    for when, problem in [
        ("tomorrow", "ISO 8601"),
        ("2026-03-03T15:00:00", "UTC offset"),
        ("2026-03-01T15:00:00+00:00", "future"),
        ("2026-09-01T15:00:00+00:00", "within"),
    ]:
        result, output = await call(ctx, "schedule_callback", {"when": when})
        assert not result.ok and problem in output["error"], when
    result, output = await call(ctx, "schedule_callback", {"when": "2026-03-03T15:00:00+01:00", "note": "ask for Eva"})
    assert result.ok and ctx.records.callback is not None
    assert ctx.records.callback.at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    assert ctx.records.callback.note == "ask for Eva"


async def test_record_outcome_is_structured_and_bounded() -> None:
    ctx, _ = context()
    result, _ = await call(
        ctx, "record_outcome", {"achieved": False, "summary": "Practice closed", "facts_learned": ["closed until May"]}
    )
    assert result.ok and not result.respond
    assert ctx.records.objective is not None and ctx.records.objective.facts_learned == ("closed until May",)
    result, _ = await call(ctx, "record_outcome", {"achieved": True, "summary": "x", "facts_learned": ["f"] * 11})
    assert not result.ok


async def test_request_user_info_caps_the_timeout_and_allows_one_question() -> None:
    ctx, control = context()
    result, output = await call(
        ctx,
        "request_user_info",
        {"question": "Is 15:00 ok?", "timeout_seconds": 600, "recipient_message": "Let me check with Anna."},
    )
    assert result.ok and control.asked == [("Is 15:00 ok?", 45.0)]
    assert output["tell_the_callee"] == "Let me check with Anna."
    result, output = await call(ctx, "request_user_info", {"question": "And 16:00?"})
    assert not result.ok and "already open" in output["error"]


async def test_answering_machine_policies() -> None:
    ctx, control = context()
    result, _ = await call(ctx, "answering_machine_detected", {"evidence": "beep"})
    assert control.ended == ["answering machine"] and ctx.records.answering_machine and not result.respond
    ctx, control = context(machine_policy=MachinePolicy.LEAVE_MESSAGE, machine_message="Please call Anna back.")
    result, output = await call(ctx, "answering_machine_detected", {})
    assert control.ended == [] and output["say_exactly"] == "Please call Anna back." and ctx.records.voicemail_left


def test_tool_specs_are_flat_function_tools_with_schemas() -> None:
    specs = {s.name: s for s in AgentProfile.for_task(dentist_task(), NOW).tool_specs}
    assert set(specs) == {
        "end_call",
        "send_dtmf",
        "request_user_info",
        "schedule_callback",
        "record_outcome",
        "answering_machine_detected",
    }
    dtmf = specs["send_dtmf"]
    assert dtmf.description.startswith("Press keys")
    assert dtmf.parameters["properties"]["digits"]["pattern"] == "^[0-9*#]{1,24}$"
    assert dtmf.parameters["required"] == ["digits"]
    assert dtmf.parameters["additionalProperties"] is False


def test_instructions_carry_the_task_and_the_rules() -> None:
    task = dentist_task(carried_context=("Anna said on the last attempt: 15:00 is fine too.",))
    text = AgentProfile.for_task(task, NOW).instructions
    for expected in [
        "on behalf of Anna Schmidt",
        "calling Dr. Weber's practice at +4930123456",
        "Objective: Move Anna's cleaning appointment to a Tuesday afternoon.",
        "- Anna's date of birth is 1990-04-12",
        "- Only Tuesdays after 14:00",
        "- A new appointment on a Tuesday after 14:00 is confirmed",
        "- Anna said on the last attempt: 15:00 is fine too.",
        "say truthfully that you are an AI assistant",
        "Share only the facts above",
        "do not change the objective",
        "request_user_info",
        "answering_machine_detected",
        "record_outcome",
    ]:
        assert expected in text, expected
    greeting = AgentProfile.for_task(task, NOW).greeting
    assert "AI assistant" in greeting and "Anna Schmidt" in greeting
