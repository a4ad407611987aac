"""Live updates (LISTEN/NOTIFY → SSE, per user), recordings, /metrics and the charts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

from db import notify, tasks
from db.models import TaskStatus
from db.stats import CampaignOutcomes, DayCount
from db.tasks import TaskDraft, TaskMove
from engine import metrics
from engine.tasks.states import move_task
from tests.web.conftest import make_world
from web import charts
from web.live import LiveHub


async def test_the_hub_hands_each_change_to_its_own_user_only(database_url, pool):
    hub = LiveHub(database_url)
    await hub.start()
    try:
        await asyncio.wait_for(hub.connected.wait(), timeout=10)
        async with hub.subscribe(1001) as alice, hub.subscribe(1001) as alice_tab2, hub.subscribe(1002) as bob:
            await notify.publish(pool, "task", 1001, task_id="a")
            await notify.publish(pool, "task", 1002, task_id="b")
            first_for_bob = await asyncio.wait_for(bob.get(), timeout=10)
            assert first_for_bob["task_id"] == "b"  # NOTIFYs arrive in order: bob never saw alice's
            assert (await asyncio.wait_for(alice.get(), timeout=10))["task_id"] == "a"
            assert (await asyncio.wait_for(alice_tab2.get(), timeout=10))["task_id"] == "a"
        assert hub._subscribers == {}
    finally:
        await hub.close()
    assert hub._task is None


async def test_the_hub_ignores_malformed_payloads():
    hub = LiveHub("postgresql://unused")
    async with hub.subscribe(7) as queue:
        hub.dispatch("not json")
        hub.dispatch(json.dumps({"kind": "task"}))
        hub.dispatch(json.dumps({"kind": "task", "user_id": 7}))
        assert queue.qsize() == 1


async def _events(response):
    """Parse a text/event-stream into (event, data) pairs."""
    event, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


async def test_the_live_stream_carries_the_users_own_changes(signed_in, make_account, pool):
    web, user = await signed_in()
    other = await make_account()
    mine = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x"), schedule_at=datetime.now(UTC))
    theirs = await tasks.create_task(pool, other.id, TaskDraft(phone_number="+14155550123", objective="y"), schedule_at=datetime.now(UTC))
    async with web.client.stream("GET", "/live") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = _events(response)
        event, data = await asyncio.wait_for(anext(stream), timeout=10)
        assert event == "hello" and data == {"live": True}
        await move_task(pool, other.id, theirs.id, TaskMove(to=TaskStatus.DIALING, why="dialling"))
        await move_task(pool, user.id, mine.id, TaskMove(to=TaskStatus.DIALING, why="dialling"))
        event, data = await asyncio.wait_for(anext(stream), timeout=10)
        assert event == "change" and data["task_id"] == str(mine.id) and data["status"] == "dialing"


async def test_metrics_expose_what_the_engine_observes(client_factory):
    web = await client_factory()
    metrics.ACTIVE_CALLS.set(3)
    metrics.CALLS.labels(outcome="busy").inc()
    metrics.TIME_TO_FIRST_AGENT_AUDIO.observe(0.42)
    metrics.TURN_LATENCY.observe(0.8)
    metrics.DISPATCH_DELAY.observe(0.3)
    response = await web.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "opendeep_active_calls 3.0" in text
    assert 'opendeep_calls_total{outcome="busy"}' in text
    for name in ("opendeep_time_to_first_agent_audio_seconds", "opendeep_turn_latency_seconds", "opendeep_dispatch_delay_seconds"):
        assert f"{name}_count" in text and f'{name}_bucket{{le="0.5"}}' in text


def test_charts_draw_every_state_and_escape_labels():
    svg = charts.campaign_outcomes([CampaignOutcomes(campaign_id=None, title="<b>Dentists</b>", counts={"succeeded": 2, "failed": 1})])
    assert svg.startswith("<svg") and "&lt;b&gt;Dentists&lt;/b&gt;" in svg and "<b>" not in svg
    assert svg.count("<rect") >= 2 and "succeeded: 2" in svg
    days = [DayCount(day=date(2026, 1, d), counts={"answered": d} if d % 2 else {}) for d in range(1, 15)]
    assert "answered: 13" in charts.calls_over_time(days)
    assert "No calls" in charts.calls_over_time([DayCount(day=date(2026, 1, 1), counts={})])


async def test_the_call_timeline_puts_every_source_on_one_axis(pool, make_account):
    from db import calls, events, hitl, transcripts

    user = await make_account()
    world = await make_world(pool, user)
    svg = charts.call_timeline(
        await calls.get_call(pool, user.id, world.call.id),
        await events.list_ari_events(pool, user.id, call_id=world.call.id),
        await transcripts.list_turns(pool, user.id, world.call.id),
        await events.list_call_events(pool, user.id, world.call.id),
        await hitl.list_requests(pool, user.id, task_id=world.task.id),
    )
    for lane in charts.LANES:
        assert f">{lane}</text>" in svg
    assert "StasisStart" in svg and "Sure, Tuesday at 3 works." in svg and "sent 1" in svg and "Is Thursday 3pm fine?" in svg



async def test_dashboard_aggregates_are_per_user(pool, make_account):
    from db import campaigns, stats

    alice, bob = await make_account(), await make_account()
    campaign = await campaigns.create_campaign(pool, alice.id, title="Dentists")
    await tasks.create_task(pool, alice.id, TaskDraft(phone_number="+14155550123", objective="x"), campaign_id=campaign.id)
    await make_world(pool, alice)
    outcomes = await stats.task_outcomes_per_campaign(pool, alice.id)
    assert [(o.title, o.counts) for o in outcomes] == [("Dentists", {"draft": 1}), ("Single tasks", {"scheduled": 1})]
    days = await stats.calls_per_day(pool, alice.id, days=14, time_zone="UTC")
    assert len(days) == 14 and days[-1].counts == {"answered": 1}
    assert await stats.task_outcomes_per_campaign(pool, bob.id) == []
    assert all(d.counts == {} for d in await stats.calls_per_day(pool, bob.id))
