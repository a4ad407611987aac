"""Lifecycle sweeps and campaigns against the real database."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from openai import AsyncOpenAI

from db import calls, campaigns, dispatch, dnd, events, hitl, sessions, tasks
from db.models import TaskStatus
from db.tasks import TaskDraft, TaskMove
from engine.lifecycle.sweeps import LifecycleSweeps
from engine.tasks.campaigns import (
    CampaignQuota,
    CampaignSummarizer,
    PlanRejected,
    QuotaExceeded,
    TaskError,
    create_campaign_with_tasks,
    export_campaign_csv,
)
from engine.tasks.states import move_task
from engine.tasks.strategy import StrategyAdvisor, accept_strategy
from tests.lifecycle.fake_openai import FakeOpenAI

NOW = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
S = TaskStatus


async def task_in(db, user_id, status: S, *, number="+12125550123", claimed_by=None, attempts=1, **extra):
    task = await tasks.create_task(db, user_id, TaskDraft(phone_number=number, objective="Ask", **extra))
    await db.execute("UPDATE tasks SET status = $2, claimed_by = $3, attempt_count = $4 WHERE id = $1",
                     task.id, status.value, claimed_by, attempts)
    return task


async def test_tasks_of_a_dead_node_are_recovered_and_live_nodes_are_left_alone(db, new_user):
    user = await new_user()
    await dispatch.heartbeat(db, "alive", {})
    await dispatch.heartbeat(db, "dead", {})
    await db.execute("UPDATE nodes SET heartbeat_at = now() - interval '10 minutes' WHERE id = 'dead'")
    lost = await task_in(db, user.id, S.IN_CALL, claimed_by="dead")
    lost_call = await calls.create_call(db, user.id, lost.id, attempt=1, node_id="dead", destination=lost.phone_number)
    spent = await task_in(db, user.id, S.DIALING, claimed_by="dead", attempts=5)
    kept = await task_in(db, user.id, S.DIALING, claimed_by="alive")

    recovered = await LifecycleSweeps(db, node_id="alive").recover_lost_attempts(NOW)

    assert recovered == 2
    retried = await tasks.get_task(db, user.id, lost.id)
    assert retried.status == "retry_scheduled" and retried.next_attempt_at > NOW
    assert (await calls.get_call(db, user.id, lost_call.id)).status == "ended"
    assert (await tasks.get_task(db, user.id, spent.id)).status == "failed"
    assert (await tasks.get_task(db, user.id, kept.id)).status == "dialing"
    messages = [e.message for e in await events.list_task_events(db, user.id, lost.id)]
    assert messages[-1] == "Attempt lost (engine node dead stopped responding); retrying shortly"


async def test_overdue_questions_expire_and_long_waits_get_one_reminder(db, new_user):
    user = await new_user()
    task = await task_in(db, user.id, S.PENDING_USER_INFO)
    await tasks.merge_task_context(db, user.id, task.id, {"pending_question": "Which office?"})
    await hitl.create_request(db, user.id, task.id, question="Which office?", deadline=NOW - timedelta(seconds=1))
    sweeper = LifecycleSweeps(db, node_id="n1", reminder_after=timedelta(hours=1))
    first = await sweeper.run_all(NOW)
    second = await sweeper.run_all(NOW)
    assert (first["questions_expired"], first["reminders"]) == (1, 1)
    assert (second["questions_expired"], second["reminders"]) == (0, 0)
    kinds = [(e.kind, e.message) for e in await events.list_task_events(db, user.id, task.id)]
    assert ("hitl_expired", "Your answer did not come in time: Which office?") in kinds
    assert ("reminder", "Reminder: this task waits for your answer to: Which office?") in kinds


async def test_expired_web_sessions_are_purged_and_live_ones_kept(db, new_user):
    user = await new_user()
    expired, live = await sessions.create_session(db, user.id), await sessions.create_session(db, user.id)
    for token, expires_at in ((expired, NOW - timedelta(seconds=1)), (live, NOW + timedelta(hours=1))):
        await db.execute("UPDATE web_sessions SET expires_at = $2 WHERE token_hash = $1",
                         hashlib.sha256(token.encode()).digest(), expires_at)
    sweeper = LifecycleSweeps(db, node_id="n1")
    first = await sweeper.run_all(NOW)
    second = await sweeper.run_all(NOW)
    assert (first["sessions_purged"], second["sessions_purged"]) == (1, 0)
    left = await db.fetch("SELECT token_hash FROM web_sessions WHERE user_id = $1", user.id)
    assert [r["token_hash"] for r in left] == [hashlib.sha256(live.encode()).digest()]
    assert (await sessions.user_of_session(db, live)).id == user.id


async def test_repeated_failures_get_a_strategy_note_the_owner_can_accept(db, new_user):
    user = await new_user()
    task = await task_in(db, user.id, S.RETRY_SCHEDULED, attempts=3)
    for attempt in (1, 2, 3):
        call = await calls.create_call(db, user.id, task.id, attempt=attempt, node_id="n1",
                                       destination=task.phone_number)
        await db.execute("UPDATE calls SET originated_at = $2 WHERE id = $1", call.id,
                         datetime(2020, 1, attempt, 15, 0, tzinfo=UTC))  # 10:00 New York
        await calls.finish_call(db, user.id, call.id, outcome="no_answer", ended_at=NOW)
    sweeper = LifecycleSweeps(db, node_id="n1")
    assert await sweeper.write_strategy_notes(NOW) == 1
    assert await sweeper.write_strategy_notes(NOW) == 0  # one note per failing streak
    note = [e for e in await events.list_task_events(db, user.id, task.id) if e.kind == "strategy"][0]
    assert note.data == {"suggestion": {"window": {"start": "15:00", "end": "18:00"}}}
    assert note.message.startswith("3 attempts so far (no answer ×3), mostly in the morning in America/New_York")
    assert (await tasks.get_task(db, user.id, task.id)).constraints == {}  # nothing applied yet
    accepted = await accept_strategy(db, user.id, task.id, note.id)
    assert accepted.constraints == {"window": {"start": "15:00", "end": "18:00"}}


async def test_model_strategy_note_uses_the_models_suggestion():
    reply = {"message": "Try after work.", "window_start": "17:00", "window_end": "19:00", "instructions": None}
    async with FakeOpenAI([(200, json.dumps(reply))]) as server:
        advisor = StrategyAdvisor(AsyncOpenAI(api_key="k", base_url=server.base_url, max_retries=0), "m")
        from engine.tasks.calling_window import calling_window
        from tests.lifecycle.builders import task, user

        window = calling_window(task(), user(), default_start="09:00", default_end="20:00")
        message, suggestion = await advisor.suggest(task(), [{"outcome": "no_answer", "originated_at": NOW}], window)
    assert (message, suggestion) == ("Try after work.", {"window": {"start": "17:00", "end": "19:00"}})


async def test_global_dnd_promotion_reaches_the_threshold(db, new_user):
    owners = [await new_user() for _ in range(3)]
    for owner in owners[:2]:
        await dnd.add_number(db, owner.id, "+12125550199")
    sweeper = LifecycleSweeps(db, node_id="n1", global_dnd_threshold=3)
    assert await sweeper.promote_global_dnd(NOW) == 0
    await dnd.add_number(db, owners[2].id, "+12125550199")
    assert await sweeper.promote_global_dnd(NOW) == 1
    stranger = await new_user()
    entry = await dnd.blocking_entry(db, stranger.id, "+12125550199")
    assert entry is not None and entry.user_id is None


async def test_a_plan_with_one_bad_task_is_refused_whole(db, new_user):
    user = await new_user()
    drafts = [
        TaskDraft(phone_number="+12125550123", objective="Book"),
        TaskDraft(phone_number="12", objective="Book"),
        TaskDraft(phone_number="+12125550124", objective="Book", constraints={"window": {"start": "9", "end": "x"}}),
    ]
    with pytest.raises(PlanRejected) as refused:
        await create_campaign_with_tasks(db, user.id, title="Dentists", drafts=drafts, schedule_at=NOW)
    assert [(e.index, e.field) for e in refused.value.errors] == [(1, "phone_number"), (2, "constraints.window.start")]
    assert isinstance(refused.value.errors[0], TaskError)
    assert await campaigns.list_campaigns(db, user.id) == []
    assert await tasks.list_tasks(db, user.id) == []


async def test_the_daily_campaign_quota_holds_under_concurrent_requests(db, new_user):
    """Eight plans confirmed at once against a quota of three: three campaigns, five refusals."""
    user = await new_user()
    quota = CampaignQuota(max_per_day=3)

    async def confirm(index: int):
        drafts = [TaskDraft(phone_number="+12125550123", objective=f"Book {index}")]
        return await create_campaign_with_tasks(db, user.id, title=f"Plan {index}", drafts=drafts, quota=quota)

    results = await asyncio.gather(*(confirm(index) for index in range(8)), return_exceptions=True)

    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(refused) == 5 and all(r.status == 429 for r in refused)
    assert len(await campaigns.list_campaigns(db, user.id)) == 3


async def test_finished_campaign_gets_a_summary_and_exports_csv(db, new_user):
    user = await new_user()
    campaign, created = await create_campaign_with_tasks(
        db, user.id, title="Dentists", schedule_at=NOW,
        drafts=[TaskDraft(phone_number="+12125550123", objective="Book", callee_name="Dr. Ada"),
                TaskDraft(phone_number="+12125550124", objective="Book", callee_name="Dr. Bo")],
    )
    assert all(t.campaign_id == campaign.id and t.status == "scheduled" for t in created)
    sweeper = LifecycleSweeps(db, node_id="n1")
    ada, bo = created
    await move_task(db, user.id, ada.id, TaskMove(to=S.DIALING, why="Dialing"))
    call = await calls.create_call(db, user.id, ada.id, attempt=1, node_id="n1", destination=ada.phone_number)
    await move_task(db, user.id, ada.id, TaskMove(to=S.IN_CALL, why="Call answered"))
    await calls.finish_call(db, user.id, call.id, outcome="answered", ended_at=NOW)
    await calls.set_call_verdict(db, user.id, call.id, verdict="succeeded", reason="Booked Tue 15:00")
    await move_task(db, user.id, ada.id, TaskMove(to=S.SUCCEEDED, why="Succeeded",
                                                  changes={"result": {"summary": "Booked Tue 15:00"}}))
    assert await sweeper.finish_campaigns(NOW) == 0  # Dr. Bo is still open
    await move_task(db, user.id, bo.id, TaskMove(to=S.CANCELLED, why="Cancelled by you"))
    assert await sweeper.finish_campaigns(NOW) == 1
    done = await campaigns.get_campaign(db, user.id, campaign.id)
    assert done.status == "completed"
    assert done.summary == (
        "Dentists: 1 of 2 tasks succeeded; 1 cancelled.\n"
        "- Dr. Ada: succeeded after 0 attempt(s) — Booked Tue 15:00\n"
        "- Dr. Bo: cancelled after 0 attempt(s)"
    )
    rows = list(csv.DictReader(io.StringIO(await export_campaign_csv(db, user.id, campaign.id))))
    assert [(r["callee_name"], r["status"], r["last_outcome"], r["verdict_reason"]) for r in rows] == [
        ("Dr. Ada", "succeeded", "answered", "Booked Tue 15:00"), ("Dr. Bo", "cancelled", "", "")]


async def test_model_summary_falls_back_to_the_template_on_failure(db, new_user):
    user = await new_user()
    campaign = await campaigns.create_campaign(db, user.id, title="Plumbers")
    async with FakeOpenAI([(200, "All three plumbers called; one can come Friday."), (500, "down")]) as server:
        summarizer = CampaignSummarizer(AsyncOpenAI(api_key="k", base_url=server.base_url, max_retries=0), "m")
        written = await summarizer.summarize(campaign, [])
        fallback = await summarizer.summarize(campaign, [])
    assert written == "All three plumbers called; one can come Friday."
    assert fallback == "Plumbers: 0 of 0 tasks succeeded."


async def test_csv_export_cannot_smuggle_spreadsheet_formulas(db, new_user):
    user = await new_user()
    campaign, _ = await create_campaign_with_tasks(
        db, user.id, title="Formulas", schedule_at=NOW,
        drafts=[TaskDraft(phone_number="+12125550123", objective="-2+3", callee_name='=HYPERLINK("http://x")')],
    )
    [row] = list(csv.DictReader(io.StringIO(await export_campaign_csv(db, user.id, campaign.id))))
    assert row["callee_name"] == '\'=HYPERLINK("http://x")'
    assert row["objective"] == "'-2+3"
    assert row["phone_number"] == "+12125550123"  # a phone number is not a formula


def _sweep_failures(sweep: str) -> float:
    from engine import metrics

    return metrics.REGISTRY.get_sample_value("opendeep_sweep_row_failures_total", {"sweep": sweep}) or 0.0


async def test_one_bad_row_is_logged_once_counted_and_skipped_while_the_good_row_gets_its_note(db, new_user, caplog):
    """A row written before validation (or by hand) with unreadable constraints never stops another user's note."""
    good_user, bad_user = await new_user(), await new_user()
    bad = await task_in(db, bad_user.id, S.RETRY_SCHEDULED, attempts=3)
    good = await task_in(db, good_user.id, S.RETRY_SCHEDULED, attempts=3)
    await db.execute("""UPDATE tasks SET constraints = '{"days": 5}'::jsonb WHERE id = $1""", bad.id)
    for task in (bad, good):
        for attempt in (1, 2, 3):
            call = await calls.create_call(db, task.user_id, task.id, attempt=attempt, node_id="n1",
                                           destination=task.phone_number)
            await calls.finish_call(db, task.user_id, call.id, outcome="no_answer", ended_at=NOW)
    before = _sweep_failures("strategy_notes")
    sweeper = LifecycleSweeps(db, node_id="n1")

    with caplog.at_level("INFO"):
        first = await sweeper.run_all(NOW)
        second = await sweeper.run_all(NOW)

    assert first["strategy_notes"] == 1 and second["strategy_notes"] == 0
    assert [e.kind for e in await events.list_task_events(db, good_user.id, good.id)].count("strategy") == 1
    assert "strategy" not in [e.kind for e in await events.list_task_events(db, bad_user.id, bad.id)]
    assert _sweep_failures("strategy_notes") == before + 2  # counted on every pass
    mentions = [r for r in caplog.records if str(bad.id) in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelname == "WARNING"  # logged once, not every 15 s
    assert "days: Input should be a valid list" in mentions[0].getMessage()


async def test_a_model_window_the_task_could_not_use_is_not_suggested():
    reply = {"message": "Try in the evening.", "window_start": "7pm", "window_end": "19:00", "instructions": None}
    async with FakeOpenAI([(200, json.dumps(reply))]) as server:
        advisor = StrategyAdvisor(AsyncOpenAI(api_key="k", base_url=server.base_url, max_retries=0), "m")
        from engine.tasks.calling_window import calling_window
        from tests.lifecycle.builders import task, user

        window = calling_window(task(), user(), default_start="09:00", default_end="20:00")
        message, suggestion = await advisor.suggest(task(), [{"outcome": "no_answer", "originated_at": NOW}], window)
    assert "window" in suggestion and suggestion["window"] != {"start": "7pm", "end": "19:00"}  # the template's
    assert message.startswith("1 attempts so far")


async def test_old_failed_sign_ins_are_purged_and_recent_ones_kept(db):
    from db import login_failures

    await login_failures.record_failure(db, "old@example.test", "198.51.100.7")
    await login_failures.record_failure(db, "recent@example.test", "198.51.100.7")
    await db.execute("UPDATE login_failures SET at = now() - interval '2 days' WHERE email = 'old@example.test'")
    await LifecycleSweeps(db, node_id="n1").run_all(datetime.now(UTC))
    left = await db.fetch("SELECT email FROM login_failures WHERE address = '198.51.100.7'")
    assert [r["email"] for r in left] == ["recent@example.test"]
