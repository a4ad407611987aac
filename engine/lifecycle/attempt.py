"""One call attempt, end to end: policy check, originate, agent, outcome, analysis, verdict.

The task arrives claimed (status `dialing`, attempt counted). Whatever happens
it leaves `dialing`/`in_call` before `run` returns, except when the attempt is
cancelled (node shutdown): then the call is hung up and the shutdown recovery
reschedules the task.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from db import calls as call_queries
from db import dnd, transcripts, users
from db.models import Call, Task, TaskStatus, User
from db.tasks import TaskMove
from engine import metrics
from engine.clock import Clock, SystemClock
from engine.lifecycle.analysis import AnalysisInput, Analyzer, RuleAnalyzer, Verdict, decide_by_rules
from engine.lifecycle.policy import Allow, DialPolicy, calling_window
from engine.lifecycle.verdicts import RetryTerms, apply_refusal, apply_verdict, verdict_move
from engine.ports.agent import AgentReport, AgentRunner, AgentSession
from engine.ports.telephony import (
    CallOutcome,
    DialRequest,
    OutboundCall,
    Telephony,
    TelephonyResult,
    TelephonyUnavailable,
)
from engine.tasks.states import move_task

log = logging.getLogger(__name__)
S = TaskStatus
PBX_UNAVAILABLE_RETRY = timedelta(minutes=1)
END_REPORT_GRACE_S = 60.0  # how long to wait for the phone system to report the end of a call


@dataclass(frozen=True, slots=True)
class AttemptResult:
    task: Task
    call: Call | None
    verdict: Verdict | None


class CallAttempt:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        telephony: Telephony,
        agent: AgentRunner,
        policy: DialPolicy,
        node_id: str,
        analyzer: Analyzer | None = None,
        clock: Clock | None = None,
        caller_id: str = "",
        ring_timeout_s: int = 30,
        record: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.telephony = telephony
        self.agent = agent
        self.policy = policy
        self.node_id = node_id
        self.analyzer = analyzer or RuleAnalyzer()
        self.clock = clock or SystemClock()
        self.caller_id = caller_id
        self.ring_timeout_s = ring_timeout_s
        self.record = record
        self.rng = rng

    async def run(self, task: Task) -> AttemptResult:
        user = await users.get_user(self.pool, task.user_id)
        decision = self.policy.decide(
            task, user, await dnd.blocking_entry(self.pool, task.user_id, task.phone_number), self.clock.now(),
            attempt=task.attempt_count,
        )
        if not isinstance(decision, Allow):
            return AttemptResult(await apply_refusal(self.pool, task, decision), None, None)
        call_row = await call_queries.create_call(
            self.pool, task.user_id, task.id, attempt=task.attempt_count, node_id=self.node_id,
            destination=decision.destination, call_id=uuid.uuid4(),
        )
        request = DialRequest(
            call_id=str(call_row.id), destination=decision.destination, caller_id=self.caller_id,
            ring_timeout_s=self.ring_timeout_s, record=self.record,
            labels={"task_id": str(task.id), "user_id": str(task.user_id)},
        )
        if task.next_attempt_at is not None:
            late = (self.clock.now() - task.next_attempt_at).total_seconds()
            metrics.DISPATCH_DELAY.observe(max(late, 0.0))
        try:
            call = await self.telephony.originate(request)
        except TelephonyUnavailable as exc:
            metrics.CALLS.labels(outcome="failed").inc()
            return await self._phone_system_down(task, call_row, str(exc))
        metrics.ACTIVE_CALLS.inc()
        try:
            return await self._converse_and_conclude(task, user, call_row, call)
        except asyncio.CancelledError:
            await asyncio.shield(self._hang_up(call, "engine shutting down"))
            raise
        finally:
            metrics.ACTIVE_CALLS.dec()

    async def _converse_and_conclude(self, task: Task, user: User, call_row: Call, call: OutboundCall) -> AttemptResult:
        preparing = asyncio.create_task(self.agent.prepare(task, call_row, call), name=f"agent-prepare-{call_row.id}")
        report: AgentReport | None = None
        current = S.DIALING
        try:
            if await call.answered():
                now = self.clock.now()
                await call_queries.mark_answered(self.pool, task.user_id, call_row.id, now)
                task = await move_task(self.pool, task.user_id, task.id, TaskMove(to=S.IN_CALL, expected=S.DIALING,
                                       call_id=call_row.id, why="Call answered"))
                current = S.IN_CALL
                report = await self._run_agent(preparing, call)
        finally:
            await self._release_agent(preparing)
        result = await self._wait_for_end(call)
        metrics.CALLS.labels(outcome=result.outcome.value).inc()
        await call_queries.finish_call(
            self.pool, task.user_id, call_row.id, outcome=result.outcome.value,
            ended_at=result.ended_at or self.clock.now(), q850_cause=result.q850_cause, sip_code=result.sip_code,
            hangup_by=result.hangup_by, detail=result.detail, recording=result.recording,
            answered_at=result.answered_at,
        )
        if report is not None:
            await self._store_report(task, call_row, report)
        verdict = await self._analyze(AnalysisInput(task=task, telephony=result, report=report))
        window = calling_window(task, user, default_start=self.policy.window_start, default_end=self.policy.window_end)
        now = self.clock.now()
        terms = RetryTerms(window, now, self.rng)
        move = verdict_move(task, verdict, current=current, call_id=call_row.id, terms=terms)
        moved = await apply_verdict(self.pool, task, verdict, move, now=now)
        return AttemptResult(moved, await call_queries.get_call(self.pool, task.user_id, call_row.id), verdict)

    async def _run_agent(self, preparing: asyncio.Task[AgentSession], call: OutboundCall) -> AgentReport:
        try:
            session = await preparing
            return await session.run(call)
        except Exception as exc:  # the call must still be concluded and analysed
            log.exception("agent failed on call %s", call.call_id)
            return AgentReport(agent_failure=True, failure_detail=f"{type(exc).__name__}: {exc}")
        finally:
            await self._hang_up(call, "conversation over")

    @staticmethod
    async def _release_agent(preparing: asyncio.Task[AgentSession]) -> None:
        if not preparing.done():
            preparing.cancel()
        try:
            session = await preparing
        except (asyncio.CancelledError, Exception):
            return
        try:
            await session.aclose()
        except Exception:
            log.exception("closing the agent session failed")

    async def _wait_for_end(self, call: OutboundCall) -> TelephonyResult:
        try:
            return await asyncio.wait_for(call.finished(), self.ring_timeout_s + END_REPORT_GRACE_S)
        except TimeoutError:
            await self._hang_up(call, "no end reported")
            return TelephonyResult(CallOutcome.FAILED, ended_at=self.clock.now(),
                                   detail="the phone system did not report the end of the call")

    @staticmethod
    async def _hang_up(call: OutboundCall, reason: str) -> None:
        try:
            await call.hangup(reason)
        except Exception:
            log.exception("hanging up call %s failed", call.call_id)

    async def _store_report(self, task: Task, call_row: Call, report: AgentReport) -> None:
        if report.metrics:
            await call_queries.set_call_metrics(self.pool, task.user_id, call_row.id, report.metrics)
        if report.transcript_stored:
            return
        for turn in report.transcript:
            await transcripts.add_turn(
                self.pool, task.user_id, call_row.id, speaker=turn.speaker, text=turn.text[:20000],
                started_at=turn.started_at, ended_at=turn.ended_at, truncated=turn.truncated,
            )

    async def _analyze(self, given: AnalysisInput) -> Verdict:
        try:
            return await self.analyzer.analyze(given)
        except Exception:
            log.exception("analysis failed; deciding by rules")
            return decide_by_rules(given)

    async def _phone_system_down(self, task: Task, call_row: Call, detail: str) -> AttemptResult:
        now = self.clock.now()
        ended = await call_queries.finish_call(self.pool, task.user_id, call_row.id, outcome="failed",
                                               ended_at=now, detail=f"phone system unavailable: {detail}")
        at = now + PBX_UNAVAILABLE_RETRY
        moved = await move_task(
            self.pool, task.user_id, task.id, TaskMove(to=S.RETRY_SCHEDULED, expected=S.DIALING, call_id=call_row.id,
            why=f"The phone system is unavailable ({detail}); trying again shortly (attempt not counted)",
            changes={"next_attempt_at": at, "attempt_count": max(task.attempt_count - 1, 0), "claimed_by": None}))
        return AttemptResult(moved, ended, None)
