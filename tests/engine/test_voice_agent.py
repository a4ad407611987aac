"""The bridge between stored tasks and the live voice agent."""

from datetime import UTC, datetime
from uuid import uuid4

from db.models import Task, User
from engine import metrics
from engine.agent import MachinePolicy
from engine.agent.runner import agent_task_for, observe
from engine.ports.agent import CallMetrics, CallReport, TranscriptTurn

NOW = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)


def _task(**fields) -> Task:
    base = dict(
        id=uuid4(), user_id=1, campaign_id=None, phone_number="+12025550101", callee_name="Dr. Smile",
        objective="Move my cleaning", facts="Patient: Sam Doe\n- born 1990-01-01\n", success_criteria="A Tuesday slot",
        constraints={"window": {"start": "14:00", "end": "17:00"}, "days": ["tue"],
                     "machine_message": "Please call Sam back."}, voicemail="leave_message",
        status="dialing", priority=0, max_attempts=5, attempt_count=1, next_attempt_at=None, claimed_by="n",
        claimed_at=None, context={"user_answers": [{"question": "Thursday 3pm?", "answer": "Yes", "at": NOW.isoformat(),
                                                    "after_call": True}],
                                  "strategy_instructions": "Ask for the front desk."},
        result=None, failure_reason=None, created_at=NOW, updated_at=NOW,
    )
    base.update(fields)
    return Task(**base)


def _user() -> User:
    return User(id=1, email="sam@example.test", display_name="Sam", role="user", time_zone="UTC", profile={},
                created_at=NOW)


def test_the_agent_task_carries_what_the_stored_task_allows():
    agent_task = agent_task_for(_task(), _user())
    assert agent_task.user_name == "Sam"
    assert agent_task.facts == ("Patient: Sam Doe", "born 1990-01-01")
    assert agent_task.constraints == ("Only agree to times between 14:00 and 17:00.", "Only agree to these days: tue.")
    assert agent_task.machine_policy is MachinePolicy.LEAVE_MESSAGE
    assert agent_task.machine_message == "Please call Sam back."
    carried = " ".join(agent_task.carried_context)
    assert "Ask for the front desk." in carried and "Thursday 3pm?" in carried and "Yes" in carried


def test_the_forms_notes_become_constraints():
    agent_task = agent_task_for(_task(constraints={"notes": "Only mornings\nNot with Dr. Who"}), _user())
    assert agent_task.constraints == ("Only mornings", "Not with Dr. Who")


def test_unknown_machine_policy_falls_back_to_hanging_up():
    agent_task = agent_task_for(_task(voicemail="sing"), _user())
    assert agent_task.machine_policy is MachinePolicy.HANG_UP


def test_the_calls_latencies_are_observed_in_the_node_metrics():
    report = CallReport(
        transcript=(TranscriptTurn("agent", "Hello", NOW, NOW),),
        metrics=CallMetrics(time_to_first_audio_ms=80.0, turn_latencies_ms=[600.0, 900.0]),
    )
    before = metrics.REGISTRY.get_sample_value("opendeep_turn_latency_seconds_count") or 0
    observe(report)
    assert metrics.REGISTRY.get_sample_value("opendeep_turn_latency_seconds_count") == before + 2
