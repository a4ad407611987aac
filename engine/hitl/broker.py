"""The PostgreSQL-backed `UserInfoBroker`: ask the task's owner, wait for the answer on any node.

`ask()` writes the `hitl_requests` row (its INSERT NOTIFYs, so the owner's browser tabs
on every node learn of it), then waits on this node's `HitlListener` for a change to the
row. Whichever node the owner answers on, the answer lands in the row and the NOTIFY
wakes us; we always re-read the row, so the notification itself may be lost.

At the deadline the request is closed as expired with a guarded UPDATE. The answer is
written with a guarded UPDATE too (both lock the row), so exactly one wins: if the
answer got there first, `ask()` returns it; otherwise it returns None and the owner may
still answer for the next call. When the call ends while a question is open (the
session cancels `ask()`), the request is expired the same way: nobody can hear a live
answer any more.

`ask()` never raises for database trouble: the agent then follows the timeout path
(tell the callee it will call back), which must work whatever happens to the database.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg

from db import hitl as hitl_queries
from db.errors import DataError
from db.models import HitlRequest
from engine.clock import Clock, SystemClock, within
from engine.hitl.listener import HitlListener, Watch
from engine.hitl.policy import QuestionPolicy, QuestionRefused
from engine.ports.owner_questions import UserQuestion

log = logging.getLogger(__name__)

_DB_ERRORS = (DataError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class PostgresUserInfoBroker:
    """One per call (it is bound to the task's owner); cheap to create."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        listener: HitlListener,
        *,
        user_id: int,
        policy: QuestionPolicy | None = None,
        clock: Clock | None = None,
        recipient_message: str = "",
    ) -> None:
        self._pool = pool
        self._listener = listener
        self._user_id = user_id
        self._policy = policy or QuestionPolicy()
        self._clock = clock or SystemClock()
        self._recipient_message = recipient_message
        self.asked: list[HitlRequest] = []  # the requests this broker created, in order

    async def ask(self, question: UserQuestion, timeout_s: float) -> str | None:
        timeout = self._policy.timeout(timeout_s)
        request_id = uuid4()  # known before the INSERT, so a cancelled ask can still close its row
        with self._listener.watch(request_id) as watch:  # watching first: no answer slips past
            try:
                if not await self._create(request_id, question, timeout):
                    return None
                return await self._wait(request_id, watch, timeout)
            except asyncio.CancelledError:
                await self._expire(request_id, "the call ended before the answer came")
                raise

    async def _create(self, request_id: UUID, question: UserQuestion, timeout: float) -> bool:
        try:
            text = self._policy.question(question.question)
            request = await hitl_queries.create_request(
                self._pool,
                self._user_id,
                UUID(question.task_id),
                question=text,
                deadline=self._clock.now() + timedelta(seconds=timeout),
                call_id=_uuid_or_none(question.call_id),
                recipient_message=self._recipient_message,
                request_id=request_id,
            )
        except (QuestionRefused, ValueError, *_DB_ERRORS) as exc:
            log.warning("task %s: could not ask the owner (%s); following the timeout path", question.task_id, exc)
            return False
        self.asked.append(request)
        return True

    async def _wait(self, request_id: UUID, watch: Watch, timeout: float) -> str | None:
        ends_at = self._clock.monotonic() + timeout
        while True:
            watch.clear()  # before the read: a change after it wakes the wait below
            current = await self._read(request_id)
            if current is not None and current.status == "answered":
                return current.answer
            if current is not None and current.status != "open":
                return None  # expired by a sweep, or cancelled with the task
            remaining = ends_at - self._clock.monotonic()
            if remaining <= 0 or not await within(self._clock, watch.wait(), remaining):
                break
        return await self._expire(request_id, "no answer in time")

    async def _expire(self, request_id: UUID, why: str) -> str | None:
        """Close the request as expired unless the answer won the race; then return that answer."""
        try:
            if await hitl_queries.close_request(self._pool, self._user_id, request_id, status="expired"):
                log.info("question %s expired: %s", request_id, why)
                return None
        except _DB_ERRORS as exc:
            log.warning("question %s: could not expire it (%s)", request_id, exc)
            return None
        current = await self._read(request_id)
        if current is not None and current.status == "answered":
            return current.answer
        return None

    async def _read(self, request_id: UUID) -> HitlRequest | None:
        try:
            return await hitl_queries.get_request(self._pool, self._user_id, request_id)
        except _DB_ERRORS as exc:
            log.warning("question %s: could not read it (%s)", request_id, exc)
            return None


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value)
    except (ValueError, TypeError):
        return None
