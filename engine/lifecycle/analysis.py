"""Post-call analysis: telephony outcome + agent report + task goal -> verdict.

`RuleAnalyzer` decides deterministically. `ModelAnalyzer` asks a model for a
structured verdict on answered calls and falls back to the rules whenever the
model is missing, fails or answers nonsense: the task never stalls here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from db.models import Task
from engine.ports.agent import CallReport
from engine.ports.telephony import CallOutcome, TelephonyResult

log = logging.getLogger(__name__)


class VerdictKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"
    PENDING_USER_INFO = "pending_user_info"
    DO_NOT_CALL = "do_not_call"
    WRONG_NUMBER = "wrong_number"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str  # one sentence a person can read
    retry_reason: str = ""  # key into engine.lifecycle.retry.BASE_DELAY for RETRY
    retry_at: datetime | None = None  # a time the callee asked for
    summary: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    decided_by: str = "rules"  # "rules" | "model"


@dataclass(frozen=True, slots=True)
class AnalysisInput:
    task: Task
    telephony: TelephonyResult
    report: CallReport | None  # None when the call was never answered


class Analyzer(Protocol):
    async def analyze(self, given: AnalysisInput) -> Verdict: ...


_UNANSWERED: dict[CallOutcome, tuple[str, str]] = {
    CallOutcome.BUSY: ("busy", "The line was busy"),
    CallOutcome.NO_ANSWER: ("no_answer", "Nobody answered"),
    CallOutcome.CONGESTION: ("congestion", "The network was congested"),
    CallOutcome.UNAVAILABLE: ("unavailable", "The callee was unreachable"),
    CallOutcome.REJECTED: ("rejected", "The call was rejected"),
    CallOutcome.FAILED: ("failed", "The call could not be placed"),
}


class RuleAnalyzer:
    async def analyze(self, given: AnalysisInput) -> Verdict:
        return decide_by_rules(given)


def _cause_detail(result: TelephonyResult) -> str:
    """" (cause 17, SIP 486)": the codes a person can look up; the outcome itself is in the sentence."""
    codes = []
    if result.q850_cause:
        codes.append(f"cause {result.q850_cause}")
    if result.sip_code:
        codes.append(f"SIP {result.sip_code}")
    return f" ({', '.join(codes)})" if codes else ""


def decide_by_rules(given: AnalysisInput) -> Verdict:
    outcome, report = given.telephony.outcome, given.report
    detail = _cause_detail(given.telephony)
    if outcome is CallOutcome.UNALLOCATED:
        return Verdict(VerdictKind.WRONG_NUMBER, f"The number does not exist{detail}")
    if outcome is not CallOutcome.ANSWERED or report is None:
        key, text = _UNANSWERED.get(outcome, ("failed", "The call was not answered"))
        return Verdict(VerdictKind.RETRY, text + detail, retry_reason=key)
    if report.do_not_call:
        return Verdict(VerdictKind.DO_NOT_CALL, "The callee asked not to be called again")
    if report.wrong_number:
        return Verdict(VerdictKind.WRONG_NUMBER, "The callee said this is the wrong number")
    # What the callee or the agent asked for outranks `achieved`: "not achieved, call me Tuesday" is a retry.
    o = report.objective
    learned: dict[str, Any] = {"summary": o.summary, "facts": {"facts_learned": list(o.facts_learned)}} if o else {}
    if report.pending_question is not None:
        return Verdict(
            VerdictKind.PENDING_USER_INFO, f"Waiting for your answer: {report.pending_question.question}", **learned
        )
    if report.callback is not None:
        note = f": {report.callback.note}" if report.callback.note else ""
        return Verdict(VerdictKind.RETRY, f"The callee asked to be called back{note}",
                       retry_reason="callback", retry_at=report.callback.at, **learned)
    if report.answering_machine:
        return Verdict(VerdictKind.RETRY, "Reached an answering machine", retry_reason="answering_machine", **learned)
    if o is not None:
        kind = VerdictKind.SUCCEEDED if o.achieved else VerdictKind.FAILED
        return Verdict(kind, o.summary or ("Objective reached" if o.achieved else "Objective not reached"), **learned)
    if report.agent_failure:
        why = f": {report.failure_reason}" if report.failure_reason else ""
        return Verdict(VerdictKind.RETRY, f"The agent failed during the call{why}", retry_reason="agent_failure")
    return Verdict(VerdictKind.RETRY, "The call ended before the objective was settled", retry_reason="inconclusive")


# --- with a model -----------------------------------------------------------------


class ModelVerdict(BaseModel):
    """The structured answer asked of the model (validated by the openai SDK)."""

    verdict: Literal["succeeded", "failed", "retry", "pending_user_info", "do_not_call", "wrong_number"]
    reason: str = Field(description="one sentence for the task's owner")
    callback_at: str | None = Field(default=None, description="ISO 8601 time the callee asked for, if any")
    summary: str = ""


_INSTRUCTIONS = (
    "You judge one phone call made by an assistant on behalf of a user. Decide the verdict from the "
    "task's objective and success criteria and what was said: succeeded (criteria met), failed "
    "(cannot be met by calling again), retry (worth calling again), pending_user_info (the agent "
    "needs an answer from the user first), do_not_call (the callee asked never to be called again), "
    "wrong_number. Give a one-sentence reason."
)


class ModelAnalyzer:
    """Structured verdicts from a chat model (an `openai.AsyncOpenAI` client), rules as fallback."""

    def __init__(self, client: Any, model: str, *, fallback: Analyzer | None = None) -> None:
        self.client = client
        self.model = model
        self.fallback = fallback or RuleAnalyzer()

    async def analyze(self, given: AnalysisInput) -> Verdict:
        ruled = await self.fallback.analyze(given)
        if given.report is None or given.telephony.outcome is not CallOutcome.ANSWERED:
            return ruled  # nothing was said: the telephony outcome decides
        if ruled.kind in (VerdictKind.DO_NOT_CALL, VerdictKind.WRONG_NUMBER):
            return ruled  # an explicit signal from the call is never overruled
        try:
            answer = await self._ask(given)
        except Exception as exc:  # any model failure falls back to the rules
            log.warning("analysis model failed, using rules: %s", exc)
            return ruled
        return self._to_verdict(answer, ruled)

    async def _ask(self, given: AnalysisInput) -> ModelVerdict:
        completion = await self.client.chat.completions.parse(
            model=self.model,
            messages=[
                {"role": "system", "content": _INSTRUCTIONS},
                {"role": "user", "content": json.dumps(describe_call(given), default=str)},
            ],
            response_format=ModelVerdict,
        )
        parsed = completion.choices[0].message.parsed
        if parsed is None:
            raise ValueError("the model refused or returned no verdict")
        return parsed

    @staticmethod
    def _to_verdict(answer: ModelVerdict, ruled: Verdict) -> Verdict:
        kind = VerdictKind(answer.verdict)
        retry_at = None
        if answer.callback_at:
            try:
                retry_at = datetime.fromisoformat(answer.callback_at)
            except ValueError:
                retry_at = None
            if retry_at is not None and retry_at.tzinfo is None:
                retry_at = None  # a time without a zone is ambiguous; use the backoff
        if kind is VerdictKind.RETRY and retry_at is None:
            retry_at = ruled.retry_at
        if kind is VerdictKind.PENDING_USER_INFO and ruled.kind is not VerdictKind.PENDING_USER_INFO:
            return ruled  # there is no question to wait on
        return Verdict(
            kind,
            answer.reason.strip()[:1000] or ruled.reason,
            retry_reason=ruled.retry_reason or "inconclusive",
            retry_at=retry_at,
            summary=answer.summary or ruled.summary,
            facts=ruled.facts,
            decided_by="model",
        )


def describe_call(given: AnalysisInput) -> dict[str, Any]:
    task, report = given.task, given.report
    described: dict[str, Any] = {
        "objective": task.objective,
        "success_criteria": task.success_criteria,
        "callee": task.callee_name,
        "telephony_outcome": given.telephony.outcome.value,
    }
    if report is not None:
        described["transcript"] = [{"speaker": t.speaker, "text": t.text} for t in report.transcript]
        if report.objective:
            described["recorded_outcome"] = {"achieved": report.objective.achieved, "summary": report.objective.summary}
        if report.callback:
            described["callback_requested"] = report.callback.at.isoformat()
        if report.pending_question:
            described["unanswered_question"] = report.pending_question.question
        described["answering_machine"] = report.answering_machine
    return described
