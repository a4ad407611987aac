"""The model-backed analyzer against a fake chat-completions server; rules whenever the model fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from openai import AsyncOpenAI

from engine.lifecycle.analysis import AnalysisInput, ModelAnalyzer, VerdictKind
from engine.ports.agent import CallbackRequest, CallReport, ObjectiveResult, TranscriptTurn
from engine.ports.telephony import CallOutcome, TelephonyResult
from tests.lifecycle.builders import task
from tests.lifecycle.fake_openai import FakeOpenAI

AT = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
ANSWERED = TelephonyResult(CallOutcome.ANSWERED, answered_at=AT, ended_at=AT)
REPORT = CallReport(transcript=(TranscriptTurn("agent", "Can we move the cleaning to Tuesday?", AT),
                                TranscriptTurn("callee", "Yes, Tuesday 3 pm is booked for you.", AT)))


def analyzer(server: FakeOpenAI) -> ModelAnalyzer:
    client = AsyncOpenAI(api_key="test-key", base_url=server.base_url, max_retries=0, timeout=5)
    return ModelAnalyzer(client, "fake-model")


async def test_model_verdict_is_parsed_with_the_schema():
    async with FakeOpenAI([(200, json.dumps({"verdict": "succeeded", "reason": "Booked Tuesday 3 pm",
                                             "callback_at": None, "summary": "Tue 15:00"}))]) as server:
        verdict = await analyzer(server).analyze(AnalysisInput(task(), ANSWERED, REPORT))
    assert (verdict.kind, verdict.reason, verdict.summary, verdict.decided_by) == (
        VerdictKind.SUCCEEDED, "Booked Tuesday 3 pm", "Tue 15:00", "model")
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["json"]["model"] == "fake-model"
    assert request["json"]["response_format"]["type"] == "json_schema"
    assert "Tuesday 3 pm is booked" in request["json"]["messages"][1]["content"]


async def test_model_retry_with_a_callback_time():
    reply = {"verdict": "retry", "reason": "Call back tomorrow", "callback_at": "2030-01-09T19:00:00+00:00",
             "summary": ""}
    async with FakeOpenAI([(200, json.dumps(reply))]) as server:
        verdict = await analyzer(server).analyze(AnalysisInput(task(), ANSWERED, REPORT))
    assert verdict.kind is VerdictKind.RETRY and verdict.retry_at == datetime(2030, 1, 9, 19, 0, tzinfo=UTC)


async def test_server_error_falls_back_to_rules():
    report = CallReport(callback=CallbackRequest(AT, "after lunch"))
    async with FakeOpenAI([(500, "overloaded")]) as server:
        verdict = await analyzer(server).analyze(AnalysisInput(task(), ANSWERED, report))
    assert len(server.requests) == 1
    assert (verdict.kind, verdict.decided_by, verdict.retry_at) == (VerdictKind.RETRY, "rules", AT)


async def test_answer_outside_the_schema_falls_back_to_rules():
    async with FakeOpenAI([(200, json.dumps({"verdict": "maybe", "reason": "?"}))]) as server:
        verdict = await analyzer(server).analyze(AnalysisInput(task(), ANSWERED, REPORT))
    assert verdict.decided_by == "rules" and verdict.kind is VerdictKind.RETRY


async def test_unanswered_and_explicit_signals_never_ask_the_model():
    async with FakeOpenAI() as server:
        busy = await analyzer(server).analyze(AnalysisInput(task(), TelephonyResult(CallOutcome.BUSY), None))
        dnc = await analyzer(server).analyze(AnalysisInput(task(), ANSWERED, CallReport(objective=ObjectiveResult(False, "", do_not_call=True))))
    assert server.requests == []
    assert (busy.kind, dnc.kind) == (VerdictKind.RETRY, VerdictKind.DO_NOT_CALL)
