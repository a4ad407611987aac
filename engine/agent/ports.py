"""Ports the agent runtime needs from the rest of the engine, with in-memory versions for tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.agent.records import CallMetrics, TranscriptTurn


@dataclass(frozen=True, slots=True)
class UserQuestion:
    task_id: str
    call_id: str
    question: str


class UserInfoBroker(Protocol):
    """Asks the task's owner a question mid-call (the HITL inbox lives elsewhere)."""

    async def ask(self, question: UserQuestion, timeout_s: float) -> str | None:
        """The user's answer, or None when none came within `timeout_s`."""


class CallRecorder(Protocol):
    """Where a call's record goes (PostgreSQL in production)."""

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None: ...

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """A human-readable step: tool calls, barge-ins, HITL, reconnects."""

    async def final_metrics(self, call_id: str, metrics: CallMetrics) -> None: ...


@dataclass(slots=True)
class RecordedEvent:
    kind: str
    message: str
    data: dict[str, Any]


@dataclass(slots=True)
class InMemoryCallRecorder:
    turns: dict[str, list[TranscriptTurn]] = field(default_factory=dict)
    events: dict[str, list[RecordedEvent]] = field(default_factory=dict)
    metrics: dict[str, CallMetrics] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def transcript_turn(self, call_id: str, turn: TranscriptTurn) -> None:
        self.turns.setdefault(call_id, []).append(turn)
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_turns(self, call_id: str, count: int, timeout: float = 5.0) -> list[TranscriptTurn]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.turns.get(call_id, [])) >= count), timeout)
        return self.turns[call_id]

    async def call_event(self, call_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self.events.setdefault(call_id, []).append(RecordedEvent(kind, message, dict(data or {})))

    async def final_metrics(self, call_id: str, metrics: CallMetrics) -> None:
        self.metrics[call_id] = metrics

    def kinds(self, call_id: str) -> list[str]:
        return [e.kind for e in self.events.get(call_id, [])]


class InMemoryUserInfoBroker:
    """Questions wait until a test answers or expires them; the timeout itself is not waited on."""

    def __init__(self) -> None:
        self.questions: list[UserQuestion] = []
        self._pending: dict[str, asyncio.Future[str | None]] = {}
        self._asked = asyncio.Condition()

    async def ask(self, question: UserQuestion, timeout_s: float) -> str | None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[question.question] = future
        async with self._asked:
            self.questions.append(question)
            self._asked.notify_all()
        return await future

    async def wait_for_question(self, timeout: float = 5.0) -> UserQuestion:
        async with self._asked:
            await asyncio.wait_for(self._asked.wait_for(lambda: bool(self._pending)), timeout)
        return self.questions[-1]

    def answer(self, text: str) -> None:
        self._resolve(text)

    def expire(self) -> None:
        self._resolve(None)

    def _resolve(self, value: str | None) -> None:
        for key, future in list(self._pending.items()):
            if not future.done():
                future.set_result(value)
            del self._pending[key]
