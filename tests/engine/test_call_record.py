from datetime import UTC, datetime, timedelta

from db import calls, events, tasks, transcripts
from db.tasks import TaskDraft
from engine.agent.recorder import DatabaseCallRecorder
from engine.lifecycle.call_log import DatabaseCallLog
from engine.ports.agent import CallMetrics, TranscriptTurn, metrics_as_json
from engine.ports.voice_model import Usage


async def test_the_call_record_lands_in_the_users_rows(pool, make_user):
    user = await make_user()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x"))
    call = await calls.create_call(pool, user.id, task.id, attempt=1, node_id="n", destination=task.phone_number)
    call_log = DatabaseCallLog(pool)
    await call_log.start()
    try:
        recorder = DatabaseCallRecorder(call_log)
        start = datetime.now(UTC)
        await recorder.transcript_turn(str(call.id), TranscriptTurn("agent", "Hello <b>there</b>", start, start + timedelta(seconds=1)))
        await recorder.transcript_turn(str(call.id), TranscriptTurn("callee", "Hi", start + timedelta(seconds=2), start + timedelta(seconds=3), truncated=False))
        await recorder.call_event(str(call.id), "tool_call", "send_dtmf 1", {"digits": "1"})
        await call_log.flush()
    finally:
        await call_log.close()
    turns = await transcripts.list_turns(pool, user.id, call.id)
    assert [(t.speaker, t.text) for t in turns] == [("agent", "Hello <b>there</b>"), ("callee", "Hi")]
    assert [(e.kind, e.data) for e in await events.list_call_events(pool, user.id, call.id)] == [("tool_call", {"digits": "1"})]


def test_the_metrics_are_stored_with_the_median_and_p95_turn_latency():
    stored = metrics_as_json(
        CallMetrics(time_to_first_audio_ms=12.5, turn_latencies_ms=[700.0, 300.0, 500.0], usage=Usage(input_tokens=5))
    )
    assert stored["time_to_first_audio_ms"] == 12.5
    assert (stored["turn_latency_ms"], stored["turn_latency_p95_ms"]) == (500, 700)
    assert stored["usage"]["input_tokens"] == 5
