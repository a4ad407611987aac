"""The rules fallback when the analysis model fails: an explicit callback, an open question to the
owner or an answering machine decides before `record_outcome`'s `achieved`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openai import AsyncOpenAI

from engine.lifecycle.analysis import AnalysisInput, ModelAnalyzer, VerdictKind
from engine.ports.agent import CallbackRequest, CallReport, ObjectiveResult, PendingQuestion
from engine.ports.telephony import CallOutcome, TelephonyResult
from tests.lifecycle.builders import task
from tests.lifecycle.fake_openai import FakeOpenAI

AT = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
ANSWERED = TelephonyResult(CallOutcome.ANSWERED, answered_at=AT, ended_at=AT)
TUESDAY = datetime(2030, 1, 15, 14, 0, tzinfo=UTC)
NOT_ACHIEVED = ObjectiveResult(False, "Not today")
ACHIEVED = ObjectiveResult(True, "Booked")
CALLBACK = CallbackRequest(TUESDAY, "call me Tuesday")
QUESTION = PendingQuestion("Is Friday also fine?")


async def verdict_when_the_model_fails(report: CallReport):
    async with FakeOpenAI([(500, "overloaded")]) as server:
        client = AsyncOpenAI(api_key="test-key", base_url=server.base_url, max_retries=0, timeout=5)
        verdict = await ModelAnalyzer(client, "fake-model").analyze(AnalysisInput(task(), ANSWERED, report))
    assert verdict.decided_by == "rules"
    return verdict


@pytest.mark.parametrize("objective", [NOT_ACHIEVED, ACHIEVED, None], ids=["not-achieved", "achieved", "none"])
async def test_a_callback_request_is_a_retry_at_its_time(objective):
    verdict = await verdict_when_the_model_fails(CallReport(objective=objective, callback=CALLBACK))
    assert (verdict.kind, verdict.retry_reason, verdict.retry_at) == (VerdictKind.RETRY, "callback", TUESDAY)


@pytest.mark.parametrize("objective", [NOT_ACHIEVED, ACHIEVED, None], ids=["not-achieved", "achieved", "none"])
async def test_an_unanswered_question_waits_for_the_owner(objective):
    verdict = await verdict_when_the_model_fails(CallReport(objective=objective, pending_question=QUESTION))
    assert verdict.kind is VerdictKind.PENDING_USER_INFO


@pytest.mark.parametrize("objective", [NOT_ACHIEVED, ACHIEVED, None], ids=["not-achieved", "achieved", "none"])
async def test_an_answering_machine_is_retried(objective):
    verdict = await verdict_when_the_model_fails(CallReport(objective=objective, answering_machine=True))
    assert (verdict.kind, verdict.retry_reason) == (VerdictKind.RETRY, "answering_machine")


async def test_a_pending_question_and_a_callback_wait_for_the_owner_first():
    report = CallReport(objective=NOT_ACHIEVED, pending_question=QUESTION, callback=CALLBACK)
    assert (await verdict_when_the_model_fails(report)).kind is VerdictKind.PENDING_USER_INFO


@pytest.mark.parametrize(
    ("objective", "kind"), [(NOT_ACHIEVED, VerdictKind.FAILED), (ACHIEVED, VerdictKind.SUCCEEDED)]
)
async def test_achieved_decides_when_nothing_else_was_asked(objective, kind):
    assert (await verdict_when_the_model_fails(CallReport(objective=objective))).kind is kind


@pytest.mark.parametrize(
    ("flag", "kind"), [("do_not_call", VerdictKind.DO_NOT_CALL), ("wrong_number", VerdictKind.WRONG_NUMBER)]
)
async def test_do_not_call_and_wrong_number_still_come_first(flag, kind):
    objective = ObjectiveResult(False, "No", **{flag: True})
    report = CallReport(objective=objective, callback=CALLBACK, pending_question=QUESTION, answering_machine=True)
    assert (await verdict_when_the_model_fails(report)).kind is kind
