"""Timeout bounds, question validation, and stored answers in the next call's instructions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.agent.profile import AgentProfile
from engine.agent.runner import with_carried_answers
from engine.hitl import QuestionPolicy, QuestionRefused, carried_answers
from engine.settings import SettingsError, load_settings
from tests.agent.rig import dentist_task


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def test_policy_defaults_and_bounds_come_from_the_settings():
    policy = QuestionPolicy.from_settings(load_settings(hitl_timeout_min_s=20, hitl_timeout_max_s=90))
    assert (policy.default_timeout_s, policy.min_timeout_s, policy.max_timeout_s) == (45, 20, 90)
    assert [policy.timeout(asked) for asked in (None, 0, -5, 5, 30, 500)] == [45, 45, 45, 20, 30, 90]


def test_settings_refuse_a_default_outside_the_bounds(monkeypatch):
    monkeypatch.setenv("OPENDEEP_HITL_TIMEOUT_MIN_S", "60")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith("OPENDEEP_HITL_TIMEOUT_MAX_S: needs HITL_TIMEOUT_MIN_S <= HITL_TIMEOUT_S")
    with pytest.raises(ValueError):
        QuestionPolicy(default_timeout_s=10, min_timeout_s=15, max_timeout_s=180)


def test_questions_are_cleaned_and_checked():
    assert QuestionPolicy.question("  Is   Tuesday\n fine? ") == "Is Tuesday fine?"
    with pytest.raises(QuestionRefused):
        QuestionPolicy.question(" \n ")
    with pytest.raises(QuestionRefused):
        QuestionPolicy.question("x" * 2001)


def test_an_answer_after_the_call_makes_the_next_call_a_call_back():
    context = {
        "user_answers": [
            {"question": "Which day?", "answer": "Thursday", "after_call": False},
            "garbage",
            {"question": "Is Thursday at 3 fine?", "answer": "Yes, Thursday at 3 works", "after_call": True},
        ]
    }
    lines = carried_answers(context, "Anna Schmidt")
    assert lines[0] == 'During an earlier call, Anna Schmidt answered "Which day?": Thursday'
    assert "calling back" in lines[1] and "Yes, Thursday at 3 works" in lines[1]
    task = with_carried_answers(dentist_task(carried_context=("Reached voicemail once.",)), context)
    instructions = AgentProfile.for_task(task, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)).instructions
    earlier = instructions.split("# From earlier attempts\n", 1)[1].split("\n\n", 1)[0]
    assert earlier.splitlines() == ["- Reached voicemail once.", f"- {lines[0]}", f"- {lines[1]}"]
    assert with_carried_answers(task, {}) is task
