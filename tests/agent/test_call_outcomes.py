"""What the answer, dead-air and voicemail handling leave for the lifecycle: the task's fields reach
the agent, and the analyzer turns "no response" and voicemail into retries (engine/lifecycle/analysis.py)."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from db.errors import InvalidInput
from db.tasks import TaskDraft, validate_draft
from engine.agent.runner import agent_task_for
from engine.agent.task import MachinePolicy
from engine.lifecycle.analysis import AnalysisInput, VerdictKind, decide_by_rules
from engine.lifecycle.retry import backoff
from engine.planner.chat import REPLY_SCHEMA, PlannedCall, validate_planned_call
from engine.ports.agent import CallReport, ObjectiveResult
from engine.ports.telephony import CallOutcome, TelephonyResult
from tests.lifecycle.builders import T0, task, user


def verdict(report: CallReport):
    return decide_by_rules(AnalysisInput(task(), TelephonyResult(CallOutcome.ANSWERED), report))


def test_no_response_is_retried_with_its_own_reason() -> None:
    ruled = verdict(CallReport(no_response=True, hangup_by="agent", end_reason="no response"))
    assert ruled.kind is VerdictKind.RETRY and ruled.retry_reason == "no_response"
    assert "said nothing" in ruled.reason
    assert backoff("no_response", 1) < backoff("voicemail_left", 1)


def test_voicemail_outcomes() -> None:
    left = verdict(CallReport(answering_machine=True, voicemail_left=True))
    assert (left.kind, left.retry_reason) == (VerdictKind.RETRY, "voicemail_left")
    hung_up = verdict(CallReport(answering_machine=True))
    assert (hung_up.kind, hung_up.retry_reason) == (VerdictKind.RETRY, "answering_machine")
    # a message that was the whole objective, recorded as met, settles the task
    done = verdict(CallReport(answering_machine=True, voicemail_left=True,
                              objective=ObjectiveResult(True, "Left the message")))
    assert done.kind is VerdictKind.SUCCEEDED
    assert backoff("voicemail_left", 1) >= timedelta(hours=3)


def test_the_tasks_fields_reach_the_agent() -> None:
    row = msgspec.structs.replace(task(), voicemail="leave_message", greet_first=True,
                                  constraints={"machine_message": "Please call Anna back."})
    agent_task = agent_task_for(row, user())
    assert agent_task.machine_policy is MachinePolicy.LEAVE_MESSAGE and agent_task.greet_first
    assert agent_task.voicemail_text() == "Please call Anna back."
    default = agent_task_for(task(), user())
    assert default.machine_policy is MachinePolicy.HANG_UP and not default.greet_first
    later = agent_task_for(msgspec.structs.replace(task(), voicemail="call_back_later"), user())
    assert later.machine_policy is MachinePolicy.CALL_BACK_LATER


def test_the_voicemail_field_is_checked_and_planned() -> None:
    with pytest.raises(InvalidInput, match="voicemail"):
        validate_draft(TaskDraft(phone_number="+14155550123", objective="x", voicemail="shout"))
    draft, _ = validate_planned_call(
        PlannedCall(phone_number="+14155550123", objective="Ask about the order", voicemail="leave_message"), T0
    )
    assert draft.voicemail == "leave_message"
    call_schema = REPLY_SCHEMA["properties"]["plan"]["anyOf"][1]["properties"]["calls"]["items"]
    assert "voicemail" in call_schema["required"]
    assert call_schema["properties"]["voicemail"]["enum"] == ["leave_message", "hang_up", "call_back_later"]
