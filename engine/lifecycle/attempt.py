"""One call attempt as one pass: claim → dial → converse → store → analyse → move.

The dialer made the claim: the task arrives in `dialing` with its attempt counted,
and the policy has the last word before the phone rings. Whatever happens the task
leaves `dialing`/`in_call` before `run` returns, except when the attempt is
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
from engine.clock import Clock
from engine.lifecycle.analysis import AnalysisInput, Analyzer, Verdict, decide_by_rules
from engine.lifecycle.policy import Allow, Decision, DialPolicy
from engine.lifecycle.recording_fetch import RecordingKeeper
from engine.lifecycle.verdicts import RetryTerms, apply_refusal, apply_verdict, verdict_move
from engine.ports.agent import AgentRunner, AgentSession, CallReport, metrics_as_json
from engine.ports.telephony import (
    CallOutcome,
    DialRequest,
    OutboundCall,
    Telephony,
    TelephonyResult,
    TelephonyUnavailable,
)
from engine.tasks.calling_window import calling_window
from engine.tasks.states import move_task

log = logging.getLogger(__name__)
S = TaskStatus
PBX_UNAVAILABLE_RETRY = timedelta(minutes=1)
END_REPORT_GRACE_S = 60.0  # how long to wait for the phone system to report the end of a call


@dataclass(frozen=True, slots=True)
class AttemptOptions:
    """How this node dials: its id on the call rows, the caller id shown, how long to ring, whether to record."""

    node_id: str
    caller_id: str = ""
    ring_timeout_s: int = 30
    record: bool = False


@dataclass(frozen=True, slots=True)
class AttemptResult:
    task: Task
    call: Call | None
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a dialled call left: the task as it is now, the end the phone system reported, the agent's report."""

    task: Task
    current: TaskStatus  # dialing, or in_call once answered
    call_row: Call
    result: TelephonyResult
    report: CallReport | None  # None when the call was never answered


class CallAttempt:
    def __init__(
        self,
        pool: asyncpg.Pool,
        telephony: Telephony,
        agent: AgentRunner,
        policy: DialPolicy,
        analyzer: Analyzer,
        clock: Clock,
        options: AttemptOptions,
        *,
        rng: random.Random | None = None,  # the retry backoff's jitter (seeded in tests)
        recordings: RecordingKeeper | None = None,  # keeps what the PBX recorded; None: recordings stay on the PBX
    ) -> None:
        self.pool = pool
        self.telephony = telephony
        self.agent = agent
        self.policy = policy
        self.analyzer = analyzer
        self.clock = clock
        self.options = options
        self.rng = rng
        self.recordings = recordings

    async def run(self, task: Task) -> AttemptResult:
        """claim → dial → converse → store → analyse → move, for a task the dialer claimed."""
        # claim: made by the dialer; the policy has the last word on it
        user = await users.get_user(self.pool, task.user_id)
        decision = await self.check_policy(task, user)
        if not isinstance(decision, Allow):
            return AttemptResult(await apply_refusal(self.pool, task, decision), None, None)
        call_row = await self._open_call_row(task, decision.destination)
        try:
            call = await self._dial(task, call_row, decision.destination)
        except TelephonyUnavailable as exc:
            return await self._phone_system_down(task, call_row, str(exc))
        metrics.ACTIVE_CALLS.inc()
        try:
            talk = await self._converse(task, call_row, call)
            await self._store(talk)
            verdict = await self._analyze(talk)
            moved = await self._move(talk, user, verdict)
            return AttemptResult(moved, await call_queries.get_call(self.pool, task.user_id, call_row.id), verdict)
        except asyncio.CancelledError:
            await asyncio.shield(self._hang_up(call, "engine shutting down"))
            raise
        finally:
            metrics.ACTIVE_CALLS.dec()

    # --- the steps, in order --------------------------------------------------------

    async def check_policy(self, task: Task, user: User) -> Decision:
        """The policy's decision on `task` now: the dialer asks at the claim, `run` again right before dialling."""
        entry = await dnd.blocking_entry(self.pool, task.user_id, task.phone_number)
        return self.policy.decide(task, user, entry, self.clock.now(), attempt=task.attempt_count)

    async def _open_call_row(self, task: Task, destination: str) -> Call:
        return await call_queries.create_call(
            self.pool, task.user_id, task.id, attempt=task.attempt_count, node_id=self.options.node_id,
            destination=destination, call_id=uuid.uuid4(),
        )

    async def _dial(self, task: Task, call_row: Call, destination: str) -> OutboundCall:
        request = DialRequest(
            call_id=str(call_row.id), destination=destination, caller_id=self.options.caller_id,
            ring_timeout_s=self.options.ring_timeout_s, record=self.options.record,
            labels={"task_id": str(task.id), "user_id": str(task.user_id)},
        )
        if task.next_attempt_at is not None:
            late = (self.clock.now() - task.next_attempt_at).total_seconds()
            metrics.DISPATCH_DELAY.observe(max(late, 0.0))
        return await self.telephony.originate(request)

    async def _converse(self, task: Task, call_row: Call, call: OutboundCall) -> Conversation:
        """The agent prepares while the phone rings and talks once answered; then the call's end."""
        preparing = asyncio.create_task(self.agent.prepare(task, call_row, call), name=f"agent-prepare-{call_row.id}")
        report: CallReport | None = None
        current = S.DIALING
        try:
            if await call.answered():
                await call_queries.mark_answered(self.pool, task.user_id, call_row.id, self.clock.now())
                task = await move_task(self.pool, task.user_id, task.id, TaskMove(
                    to=S.IN_CALL, expected=S.DIALING, call_id=call_row.id, why="Call answered"))
                current = S.IN_CALL
                report = await self._run_agent(preparing, call)
        finally:
            await self._release_agent(preparing)
        return Conversation(task, current, call_row, await self._wait_for_end(call), report)

    async def _store(self, talk: Conversation) -> None:
        """The call's end on its row, what the agent reported (transcript, metrics), and the recording."""
        result = talk.result
        metrics.CALLS.labels(outcome=result.outcome.value).inc()
        await call_queries.finish_call(
            self.pool, talk.task.user_id, talk.call_row.id, outcome=result.outcome.value,
            ended_at=result.ended_at or self.clock.now(), q850_cause=result.q850_cause, sip_code=result.sip_code,
            hangup_by=result.hangup_by, detail=result.detail, answered_at=result.answered_at,
        )
        if talk.report is not None:
            await self._store_report(talk.task, talk.call_row, talk.report)
        if result.recording and self.recordings is not None:
            await self.recordings.keep(talk.task.user_id, talk.call_row.id, result.recording)

    async def _analyze(self, talk: Conversation) -> Verdict:
        given = AnalysisInput(task=talk.task, telephony=talk.result, report=talk.report)
        try:
            return await self.analyzer.analyze(given)
        except Exception:
            log.exception("analysis failed; deciding by rules")
            return decide_by_rules(given)

    async def _move(self, talk: Conversation, user: User, verdict: Verdict) -> Task:
        """The verdict's move (see `engine.lifecycle.verdicts.VERDICT_MOVES`), applied."""
        task = talk.task
        window = calling_window(task, user, default_start=self.policy.window_start, default_end=self.policy.window_end)
        now = self.clock.now()
        move = verdict_move(task, verdict, current=talk.current, call_id=talk.call_row.id,
                            terms=RetryTerms(window, now, self.rng))
        return await apply_verdict(self.pool, task, verdict, move, now=now)

    # --- helpers ----------------------------------------------------------------------

    async def _run_agent(self, preparing: asyncio.Task[AgentSession], call: OutboundCall) -> CallReport:
        try:
            session = await preparing
            return await session.run(call)
        except Exception as exc:  # the call must still be concluded and analysed
            log.exception("agent failed on call %s", call.call_id)
            return CallReport(agent_failure=True, failure_reason=f"{type(exc).__name__}: {exc}")
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
            return await asyncio.wait_for(call.finished(), self.options.ring_timeout_s + END_REPORT_GRACE_S)
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

    async def _store_report(self, task: Task, call_row: Call, report: CallReport) -> None:
        if report.metrics is not None:
            await call_queries.set_call_metrics(self.pool, task.user_id, call_row.id, metrics_as_json(report.metrics))
        if report.transcript_stored:
            return
        for turn in report.transcript:
            await transcripts.add_turn(
                self.pool, task.user_id, call_row.id, speaker=turn.speaker, text=turn.text[:20000],
                started_at=turn.started_at, ended_at=turn.ended_at, truncated=turn.truncated,
            )

    async def _phone_system_down(self, task: Task, call_row: Call, detail: str) -> AttemptResult:
        metrics.CALLS.labels(outcome="failed").inc()
        now = self.clock.now()
        ended = await call_queries.finish_call(self.pool, task.user_id, call_row.id, outcome="failed",
                                               ended_at=now, detail=f"phone system unavailable: {detail}")
        at = now + PBX_UNAVAILABLE_RETRY
        moved = await move_task(self.pool, task.user_id, task.id, TaskMove(
            to=S.RETRY_SCHEDULED, expected=S.DIALING, call_id=call_row.id,
            why=f"The phone system is unavailable ({detail}); trying again shortly (attempt not counted)",
            changes={"next_attempt_at": at, "attempt_count": max(task.attempt_count - 1, 0), "claimed_by": None},
        ))
        return AttemptResult(moved, ended, None)
