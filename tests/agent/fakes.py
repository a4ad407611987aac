"""Test doubles: a chan_websocket-like media stream and a call (the telephony side), and the
in-memory call recorder and owner-question broker the agent runtime writes to and asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from engine.ports.agent import TranscriptTurn
from engine.ports.event_queue import events_until
from engine.ports.owner_questions import UserQuestion
from engine.ports.telephony import (
    AudioFormat,
    AudioReceived,
    CallOutcome,
    DtmfReceived,
    MarkPlayed,
    MediaClosed,
    MediaEvent,
    TelephonyResult,
)
from tests.clock import ManualClock

FRAME_MS = 20


class FakeMediaStream:
    """Behaves like chan_websocket: queues agent audio, plays it at 20 ms per frame of the
    clock, reports marks in order once played, and drops queued audio and marks on flush.

    With `autoplay`, everything queued plays as soon as a mark is asked for (the clock
    advances by its duration); otherwise a test plays audio with `play(ms)`.
    """

    def __init__(self, clock: ManualClock | None, fmt: AudioFormat = AudioFormat.ULAW, autoplay: bool = True) -> None:
        self.format = fmt
        self.clock = clock
        self.autoplay = autoplay
        self.sent = bytearray()  # every byte of agent audio ever queued
        self.position = 0  # bytes played or flushed
        self.flushed_bytes = 0
        self.flushes = 0
        self.drop_marks = False  # simulate lost MEDIA_MARK_PROCESSED
        self.marks_played: list[str] = []
        self._marks: list[tuple[int, str]] = []
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self.closed = False

    # --- MediaStream ------------------------------------------------------------------

    async def send_audio(self, audio: bytes) -> None:
        self.sent.extend(audio)
        async with self._changed:
            self._changed.notify_all()

    async def mark(self, name: str) -> None:
        self._marks.append((len(self.sent), name))
        if self.autoplay:
            self._play_bytes(len(self.sent) - self.position)
        else:
            self._emit_due_marks()

    async def flush(self) -> None:
        self.flushes += 1
        self.flushed_bytes += len(self.sent) - self.position
        self.position = len(self.sent)
        self._marks.clear()

    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until(self._events, MediaClosed)

    # --- driving it from a test ---------------------------------------------------------

    async def play(self, ms: int) -> None:
        """Let `ms` of time pass at the callee's end, frame by frame."""
        for _ in range(ms // FRAME_MS):
            self._play_bytes(min(self.format.frame_bytes, len(self.sent) - self.position))

    def callee_audio(self, audio: bytes) -> None:
        self._events.put_nowait(AudioReceived(audio))

    def press(self, digit: str) -> None:
        self._events.put_nowait(DtmfReceived(digit))

    def close(self, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self._events.put_nowait(MediaClosed(reason))

    async def wait_sent(self, nbytes: int, timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent) >= nbytes), timeout)

    @property
    def sent_ms(self) -> float:
        return len(self.sent) / self.format.bytes_per_ms

    def _play_bytes(self, nbytes: int) -> None:
        frames = -(-nbytes // self.format.frame_bytes) if nbytes > 0 else 1
        if self.clock is not None:
            self.clock.advance(frames * FRAME_MS / 1000)
        self.position += max(0, nbytes)
        self._emit_due_marks()

    def _emit_due_marks(self) -> None:
        while self._marks and self._marks[0][0] <= self.position:
            _, name = self._marks.pop(0)
            if not self.drop_marks:
                self.marks_played.append(name)
                self._events.put_nowait(MarkPlayed(name))


class FakeOutboundCall:
    def __init__(self, media: FakeMediaStream, call_id: str = "call-1") -> None:
        self.call_id = call_id
        self._media = media
        self._answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.dtmf: list[str] = []
        self.hangups: list[str] = []
        self._hung_up = asyncio.Event()

    @property
    def media(self) -> FakeMediaStream:
        return self._media

    def answer(self) -> None:
        self._answered.set_result(True)

    def fail(self) -> None:
        self._answered.set_result(False)

    async def answered(self) -> bool:
        return await self._answered

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf.append(digits)

    async def hangup(self, reason: str = "normal") -> None:
        self.hangups.append(reason)
        self._hung_up.set()
        self._media.close("hangup")

    def callee_hangs_up(self) -> None:
        self._media.close("callee hung up")

    async def wait_hung_up(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._hung_up.wait(), timeout)

    async def finished(self) -> TelephonyResult:
        await self._hung_up.wait()
        return TelephonyResult(CallOutcome.ANSWERED)


@dataclass(slots=True)
class RecordedEvent:
    kind: str
    message: str
    data: dict[str, Any]


@dataclass(slots=True)
class InMemoryCallRecorder:
    """A `CallRecorder`: keeps each call's transcript turns and call steps."""

    turns: dict[str, list[TranscriptTurn]] = field(default_factory=dict)
    events: dict[str, list[RecordedEvent]] = field(default_factory=dict)
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
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_event(self, call_id: str, kind: str, timeout: float = 5.0) -> RecordedEvent:
        """The first recorded step of `kind`, once there is one."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: kind in self.kinds(call_id)), timeout)
        return next(e for e in self.events[call_id] if e.kind == kind)

    def kinds(self, call_id: str) -> list[str]:
        return [e.kind for e in self.events.get(call_id, [])]


class InMemoryUserInfoBroker:
    """A `UserInfoBroker` whose questions wait until a test answers or expires them;
    the timeout itself is not waited on."""

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
