"""The database TelephonyEventSink: raw events batched per call, call steps, flush on end and close."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from db import calls, events, tasks
from db.tasks import TaskDraft
from engine.lifecycle.call_log import DatabaseCallLog


async def new_call(db, user_id):
    task = await tasks.create_task(db, user_id, TaskDraft(phone_number="+14155550123", objective="x"))
    return await calls.create_call(db, user_id, task.id, attempt=1, node_id="n1", destination="+14155550123",
                                   call_id=uuid.uuid4())


def ari(kind: str, channel: str, **extra):
    return {"type": kind, "timestamp": "2030-01-08T10:00:00.123+0000", "channel": {"id": channel}, **extra}


async def test_raw_events_are_written_when_the_call_ends_and_the_rest_on_close(db, new_user):
    user = await new_user()
    ended_call, live_call = await new_call(db, user.id), await new_call(db, user.id)
    log = DatabaseCallLog(db)
    await log.start()
    try:
        for call in (ended_call, live_call):
            await log.raw_event(str(call.id), ari("StasisStart", str(call.id)))
        await log.call_event(str(ended_call.id), "answered", "The callee answered", {"after_ms": 3200})
        await log.raw_event(str(ended_call.id), ari("ChannelDestroyed", str(ended_call.id), cause=16))
        await log.raw_event("not-a-call-id", ari("StasisStart", "foreign"))
        await log.drained()
        stored = await events.list_ari_events(db, user.id, call_id=ended_call.id)
        assert [e.event_type for e in stored] == ["StasisStart", "ChannelDestroyed"]
        assert stored[0].at == datetime(2030, 1, 8, 10, 0, 0, 123000, tzinfo=UTC)
        assert stored[0].channel_id == str(ended_call.id) and stored[1].payload["cause"] == 16
        assert await events.list_ari_events(db, user.id, call_id=live_call.id) == []
        [step] = await events.list_call_events(db, user.id, ended_call.id)
        assert (step.kind, step.message, step.data) == ("answered", "The callee answered", {"after_ms": 3200})
    finally:
        await log.close()
    assert [e.event_type for e in await events.list_ari_events(db, user.id, call_id=live_call.id)] == ["StasisStart"]
    assert log.dropped == 1
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "call-log-writer"]
