"""A failing database never ends a live call: the call's record is queued and retried,
and arrives once the database is back (the seam: the pool the call log writes through)."""

from __future__ import annotations

import uuid

from db import calls, events, tasks, transcripts
from db.tasks import TaskDraft
from engine import metrics
from engine.agent.recorder import DatabaseCallRecorder
from engine.lifecycle.call_log import RETRY_MAX_S, DatabaseCallLog
from engine.voice.simulator.script import Reply, SimToolCall
from tests.agent.rig import call_rig
from tests.clock import ManualClock

HELLO = Reply("Hello, this is an assistant calling for Anna.", audio_ms=300)
BYE = Reply("Tuesday it is. Goodbye!", audio_ms=300, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))


class FailingDatabase:
    """The database seam with a fault switch: while `down`, every statement fails the way an
    exhausted pool does (asyncpg's acquire timeout); otherwise it is the real pool."""

    def __init__(self, pool) -> None:
        self._pool = pool
        self.down = False

    async def _run(self, method: str, *args, **kwargs):
        if self.down:
            raise TimeoutError("no free connection in the pool")
        return await getattr(self._pool, method)(*args, **kwargs)

    async def fetch(self, *args, **kwargs):
        return await self._run("fetch", *args, **kwargs)

    async def fetchrow(self, *args, **kwargs):
        return await self._run("fetchrow", *args, **kwargs)

    async def fetchval(self, *args, **kwargs):
        return await self._run("fetchval", *args, **kwargs)

    async def execute(self, *args, **kwargs):
        return await self._run("execute", *args, **kwargs)


def failures(what: str, result: str) -> float:
    labels = {"what": what, "result": result}
    return metrics.REGISTRY.get_sample_value("opendeep_call_log_write_failures_total", labels) or 0.0


async def test_a_failing_database_never_ends_the_call_and_the_record_arrives_once_it_recovers(
    pool, make_user, provider: str
):
    user = await make_user()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x"))
    row = await calls.create_call(
        pool, user.id, task.id, attempt=1, node_id="n", destination=task.phone_number, call_id=uuid.uuid4()
    )
    database = FailingDatabase(pool)
    database.down = True  # from before the answer to after the hang-up
    log_clock = ManualClock()
    call_log = DatabaseCallLog(database, clock=log_clock, retry_s=600)
    await call_log.start()
    retried_before = failures("transcript_turn", "retried") + failures("call_event", "retried")
    try:
        async with call_rig(
            [HELLO, BYE], recorder=DatabaseCallRecorder(call_log), call_id=str(row.id), provider=provider
        ) as rig:
            callee = await rig.sim.wait_for_session()
            await rig.media.wait_sent(300 * 8)  # the greeting
            await callee.callee_starts_speaking()
            await callee.callee_stops_speaking("Tuesday works for me.")
            report = await rig.result()
        # the call went on to its natural end, with nothing written
        assert report.hangup_by == "agent" and report.end_reason == "done" and not report.agent_failure
        assert [t.text for t in report.transcript] == [HELLO.text, "Tuesday works for me.", BYE.text]
        assert await transcripts.list_turns(pool, user.id, row.id) == []
        assert failures("transcript_turn", "retried") + failures("call_event", "retried") > retried_before

        database.down = False  # the database recovers; the queued record follows
        await log_clock.wait_sleepers(1)
        log_clock.advance(RETRY_MAX_S)
        await call_log.flush()
    finally:
        await call_log.close()
    stored = await transcripts.list_turns(pool, user.id, row.id)
    assert [(t.speaker, t.text) for t in stored] == [(t.speaker, t.text) for t in report.transcript]
    assert "hangup" in [e.kind for e in await events.list_call_events(pool, user.id, row.id)]


async def test_a_write_that_keeps_failing_is_dropped_after_the_bound_and_counted(pool, make_user):
    user = await make_user()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x"))
    row = await calls.create_call(
        pool, user.id, task.id, attempt=1, node_id="n", destination=task.phone_number, call_id=uuid.uuid4()
    )
    database = FailingDatabase(pool)
    database.down = True
    log_clock = ManualClock()
    call_log = DatabaseCallLog(database, clock=log_clock, retry_s=20)
    await call_log.start()
    dropped_before = failures("call_event", "dropped")
    try:
        await call_log.call_event(str(row.id), "note", "lost to a dead database")
        await call_log.call_event(str(row.id), "note", "written once it is back")
        while failures("call_event", "dropped") == dropped_before:
            await log_clock.wait_sleepers(1)
            log_clock.advance(RETRY_MAX_S)
        database.down = False
        await call_log.flush()
    finally:
        await call_log.close()
    assert [e.message for e in await events.list_call_events(pool, user.id, row.id)] == ["written once it is back"]
