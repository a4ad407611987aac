"""Fakes at the engine's seams: a Telephony that behaves like the port, and a scripted agent.

They record what they were asked; tests drive them through public methods.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from db.models import Call, Task
from engine.ports.agent import CallReport
from engine.ports.telephony import (
    CallOutcome,
    ComponentStatus,
    DialRequest,
    OutboundCall,
    TelephonyResult,
    TelephonyUnavailable,
)

# What a real Asterisk reports on the callee's leg for each outcome (asterisk-ari.md §2.4).
Q850_CAUSES = {CallOutcome.BUSY: 17, CallOutcome.NO_ANSWER: 19, CallOutcome.UNALLOCATED: 1,
               CallOutcome.REJECTED: 21, CallOutcome.CONGESTION: 34, CallOutcome.UNAVAILABLE: 20}


class FakeCall:
    """Rings, then is answered or not (per the script), and finishes once hung up."""

    def __init__(self, request: DialRequest, outcome: CallOutcome, hold: asyncio.Event | None) -> None:
        self.call_id = request.call_id
        self.request = request
        self.outcome = outcome
        self.hangups: list[str] = []
        self._hold = hold  # when given, the callee does not answer until it is set
        self._ended = asyncio.Event()
        if outcome is not CallOutcome.ANSWERED and hold is None:
            self._ended.set()

    @property
    def media(self):  # the scripted agent never touches media
        raise RuntimeError("the fake call carries no media")

    async def answered(self) -> bool:
        if self._hold is not None:
            await self._hold.wait()
            if self.outcome is not CallOutcome.ANSWERED:
                self._ended.set()
        return self.outcome is CallOutcome.ANSWERED

    async def send_dtmf(self, digits: str) -> None:
        pass

    async def hangup(self, reason: str = "normal") -> None:
        self.hangups.append(reason)
        self._ended.set()

    async def finished(self) -> TelephonyResult:
        await self._ended.wait()
        now = datetime.now(UTC)
        answered = self.outcome is CallOutcome.ANSWERED
        return TelephonyResult(
            self.outcome,
            q850_cause=16 if answered else Q850_CAUSES.get(self.outcome, 41),
            answered_at=now if answered else None,
            ended_at=now,
            hangup_by="agent" if answered else "system",
        )


@dataclass
class FakeTelephony:
    """Counts originates; `outcome_for(destination)` says how each call goes (default: answered)."""

    outcome_for: Callable[[str], CallOutcome] = lambda _: CallOutcome.ANSWERED
    hold_answers: bool = False  # calls wait for `release()` before answering
    unavailable: bool = False
    originated: list[DialRequest] = field(default_factory=list)
    calls: dict[str, FakeCall] = field(default_factory=dict)
    originate_event: asyncio.Event = field(default_factory=asyncio.Event)
    _hold: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def originate(self, request: DialRequest) -> FakeCall:
        if self.unavailable:
            raise TelephonyUnavailable("events socket down")
        call = FakeCall(request, self.outcome_for(request.destination), self._hold if self.hold_answers else None)
        self.originated.append(request)
        self.calls[request.call_id] = call
        self.originate_event.set()
        return call

    def release(self) -> None:
        self._hold.set()

    async def status(self) -> ComponentStatus:
        return ComponentStatus(ok=True, mode="fake")

    async def live_call_ids(self) -> set[str]:
        return {cid for cid, call in self.calls.items() if not call._ended.is_set()}

    def originates_per_task(self) -> Counter[str]:
        return Counter(r.labels["task_id"] for r in self.originated)

    async def wait_for_originates(self, count: int, timeout: float = 10) -> None:
        async def enough() -> None:
            while len(self.originated) < count:
                self.originate_event.clear()
                await self.originate_event.wait()

        await asyncio.wait_for(enough(), timeout)


class ScriptedSession:
    def __init__(self, report: CallReport, runner: ScriptedAgent) -> None:
        self.report = report
        self.runner = runner

    async def run(self, call) -> CallReport:  # type: ignore[no-untyped-def]
        self.runner.ran.append(call.call_id)
        if isinstance(self.report, Exception):
            raise self.report
        return self.report

    async def aclose(self) -> None:
        pass


@dataclass
class ScriptedAgent:
    """An AgentRunner that answers each call with the report `script(task)` gives."""

    script: Callable[[Task], CallReport] = lambda _: CallReport()
    prepared: list[tuple[Task, Call]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    prepared_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def prepare(self, task: Task, call: Call, outbound: OutboundCall | None = None) -> ScriptedSession:
        self.prepared.append((task, call))
        self.prepared_event.set()
        return ScriptedSession(self.script(task), self)
