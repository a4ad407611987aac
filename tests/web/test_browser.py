"""The web app in a real browser (Playwright driving Debian's Chromium).

Status changes are driven through `engine.tasks.states.move_task` from the
test, as the dialer would; the page must follow without a reload.
Screenshots of the main pages land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db import hitl, tasks, transcripts
from db.models import TaskStatus
from db.tasks import TaskDraft, TaskMove
from engine.tasks.states import move_task
from tests.browser import browser, expect, live, shot, signed_in_page  # noqa: F401 (browser is a fixture)
from tests.web.conftest import make_world, serving

pytestmark = pytest.mark.browser

EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

@pytest.fixture
async def site(app: Any) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


@pytest.fixture
async def open_page(browser: Any, site: str) -> AsyncIterator:
    contexts: list[Any] = []

    async def make(user: Any) -> Any:
        context, page = await signed_in_page(browser, site, user.email)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        await context.close()


async def test_sign_in_create_a_task_and_follow_it_live(open_page, make_account, pool):
    user = await make_account()
    page = await open_page(user)
    await page.get_by_role("link", name="New task").first.click()
    await page.get_by_label("Phone number").fill("+1 415 555 0123")
    await page.get_by_label("Who you are calling").fill("Smile Dental")
    await page.get_by_label("Objective").fill("Move my cleaning to a Tuesday afternoon")
    await page.get_by_label("What counts as success").fill("A confirmed new slot")
    await shot(page, "task-form")
    await page.get_by_role("button", name="Create task").click()
    await expect(page.locator("#task-status")).to_have_text("Scheduled")
    [task] = await tasks.list_tasks(pool, user.id)
    assert task.phone_number == "+14155550123" and task.callee_name == "Smile Dental"
    await live(page)
    await page.evaluate("window.__sameDocument = true")
    await move_task(pool, user.id, task.id, TaskMove(to=TaskStatus.DIALING, why="Dialling +14155550123"))
    await expect(page.locator("#task-status")).to_have_text("Dialing")
    await expect(page.locator("ol.timeline")).to_contain_text("Dialling +14155550123")
    await expect(page.get_by_role("button", name="Call now")).to_have_count(0)  # the actions follow the status too
    await expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    await shot(page, "task")

    await page.get_by_role("link", name="Dashboard").click()
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    await expect(row).to_contain_text("Dialing")
    await live(page)
    await page.evaluate("window.__sameDocument = true")
    await move_task(pool, user.id, task.id, TaskMove(to=TaskStatus.IN_CALL, why="Answered"))
    await expect(row.locator(".status")).to_have_text("In call")
    await move_task(pool, user.id, task.id, TaskMove(
        to=TaskStatus.RETRY_SCHEDULED, why="Callee asked to call back",
        changes={"next_attempt_at": datetime.now(UTC) + timedelta(hours=2), "attempt_count": 1},
    ))
    await expect(row.locator(".status")).to_have_text("Retry scheduled")
    await expect(row).to_contain_text("1 / 5")
    await expect(page.locator("#status-chips")).to_contain_text("Retry scheduled 1")
    await expect(page.locator("#charts svg title")).to_have_text("Retry scheduled: 1")
    assert await page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded
    await shot(page, "dashboard")


async def test_read_a_calls_transcript_timeline_and_ari_events(open_page, make_account, pool):
    user = await make_account()
    world = await make_world(pool, user)
    page = await open_page(user)
    await page.goto(f"/calls/{world.call.id}")
    await expect(page.locator(".transcript")).to_contain_text("Sure, Tuesday at 3 works.")
    await expect(page.locator("#call-outcome")).to_have_text("answered")
    await expect(page.locator("svg.timeline")).to_be_visible()
    await expect(page.locator("tr.ari-event")).to_have_count(3)
    await page.locator("tr.ari-event", has_text="ChannelCreated").get_by_text("JSON").click()
    await expect(page.locator("tr.ari-event", has_text="ChannelCreated").locator("pre.json")).to_contain_text('"state": "Down"')
    await live(page)
    await transcripts.add_turn(pool, user.id, world.call.id, speaker="agent", text="Thank you, goodbye!",
                               started_at=datetime.now(UTC))
    await expect(page.locator(".transcript")).to_contain_text("Thank you, goodbye!")
    await shot(page, "call")
    await page.get_by_label("Event type").select_option("StasisStart")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tr.ari-event")).to_have_count(1)
    await page.goto(f"/ari-events?channel={world.call.id}-media")
    await expect(page.locator("tr.ari-event")).to_have_count(1)
    await expect(page.locator("tr.ari-event")).to_contain_text("ChannelDestroyed")
    await shot(page, "ari-events")


async def test_answer_a_hitl_question_and_see_the_badge_live(open_page, make_account, pool):
    user = await make_account()
    world = await make_world(pool, user)
    page = await open_page(user)
    badge = page.locator("#hitl-badge")
    await expect(badge).to_have_text("1")
    await live(page)
    second = await hitl.create_request(pool, user.id, world.task.id, question="Can they call you back?",
                                       deadline=datetime.now(UTC) + timedelta(seconds=50))
    await expect(badge).to_have_text("2")
    await page.get_by_role("link", name="Inbox").click()
    await live(page)
    card = page.locator(f'[data-question-id="{world.question.id}"]')
    await expect(card.locator(".countdown")).to_contain_text("left")
    await expect(card.locator(".question-about .callee")).to_have_text("Smile Dental")
    await expect(card.locator(".question-about .objective")).to_have_text("Move the cleaning to Tuesday")
    await shot(page, "inbox")
    # A question asked outside a recorded call: the asker is still waiting, the answer goes live.
    live_card = page.locator(f'[data-question-id="{second.id}"]')
    await live_card.get_by_label("Your answer").fill("Yes, after 2pm")
    await live_card.get_by_role("button", name="Answer").click()
    await expect(page.locator(f'[data-question-id="{second.id}"]')).to_have_count(0)
    await expect(page.locator("ul.answered")).to_contain_text("Yes, after 2pm")
    await expect(badge).to_have_text("1")
    assert (await hitl.get_request(pool, user.id, second.id)).answer == "Yes, after 2pm"
    # The first question's call has ended: the answer is offered for the next call instead.
    await card.get_by_label("Your answer").fill("Yes, Thursday 3pm is fine")
    await card.get_by_role("button", name="Answer").click()
    await expect(page.get_by_role("alert")).to_contain_text("answer it for the next call")
    await page.get_by_role("button", name="Keep it for the next call").click()
    await expect(page.locator("ul.answered")).to_contain_text("Yes, Thursday 3pm is fine")
    await expect(badge).to_have_text("0")
    answered = await hitl.get_request(pool, user.id, world.question.id)
    assert answered.status == "answered" and answered.answer == "Yes, Thursday 3pm is fine"
    task = await tasks.get_task(pool, user.id, world.task.id)
    assert [a["answer"] for a in task.context["user_answers"]] == ["Yes, after 2pm", "Yes, Thursday 3pm is fine"]


async def test_apply_a_strategy_suggestion_and_find_the_campaign_csv(open_page, make_account, pool):
    from db import events
    from engine.tasks.campaigns import create_campaign_with_tasks

    user = await make_account()
    campaign, [task] = await create_campaign_with_tasks(
        pool, user.id, title="Dentists", schedule_at=datetime.now(UTC),
        drafts=[TaskDraft(phone_number="+14155550123", callee_name="Smile Dental", objective="Book a cleaning")])
    await events.add_task_event(pool, user.id, task.id, kind="strategy", actor="advisor",
                                message="3 attempts so far (no answer ×3), mostly in the morning. Accept to apply.",
                                data={"suggestion": {"window": {"start": "15:00", "end": "18:00"}}})
    page = await open_page(user)
    await page.goto(f"/?campaign={campaign.id}")
    await expect(page.locator("a.campaign-csv")).to_have_attribute("href", f"/campaigns/{campaign.id}/export.csv")
    await page.goto(f"/tasks/{task.id}")
    await expect(page.locator("a.campaign-csv")).to_have_text("Download CSV")
    await shot(page, "task-strategy")
    await page.get_by_role("button", name="Apply this suggestion").click()
    await expect(page.locator(".strategy-applied")).to_have_text("Applied")
    await expect(page.get_by_role("button", name="Apply this suggestion")).to_have_count(0)
    await expect(page.locator("ol.timeline")).to_contain_text("Strategy accepted")
    assert (await tasks.get_task(pool, user.id, task.id)).constraints["window"] == {"start": "15:00", "end": "18:00"}
    await page.reload()
    await expect(page.locator(".calling-window")).to_have_text("15:00–18:00")
    await shot(page, "task-strategy-applied")


async def test_script_and_html_payloads_are_shown_as_text(open_page, make_account, pool):
    user = await make_account()
    world = await make_world(pool, user, callee=EVIL)
    await transcripts.add_turn(pool, user.id, world.call.id, speaker="callee", text=EVIL, started_at=datetime.now(UTC))
    unnamed = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550124", objective=EVIL, facts=EVIL))
    asked = await hitl.create_request(pool, user.id, unnamed.id, question=EVIL, deadline=datetime.now(UTC) + timedelta(minutes=5))
    page = await open_page(user)
    await expect(page.locator("table.tasks")).to_contain_text("<script>window.__pwned = 1</script>")
    await page.goto(f"/tasks/{world.task.id}")
    await expect(page.locator("h1.callee-name")).to_have_text(EVIL)
    await page.goto(f"/calls/{world.call.id}")
    await expect(page.locator(".transcript")).to_contain_text(EVIL)
    await page.goto("/inbox")
    await expect(page.locator(f'[data-question-id="{world.question.id}"] .question-about .callee')).to_have_text(EVIL)
    unnamed_card = page.locator(f'[data-question-id="{asked.id}"]')
    await expect(unnamed_card.locator(".question-about .callee")).to_have_text("+14155550124")
    await expect(unnamed_card.locator(".question-about .objective")).to_have_text(EVIL)
    await expect(unnamed_card.locator(".question-text")).to_have_text(EVIL)
    await shot(page, "inbox-payloads")
    await page.goto("/chat")
    await page.get_by_label("Message").fill(EVIL)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".bubble.user")).to_have_text(EVIL)
    assert await page.evaluate("window.__pwned") is None


async def test_plan_with_the_assistant_review_and_confirm(open_page, make_account, pool):
    user = await make_account()
    page = await open_page(user)
    await page.get_by_role("link", name="Assistant", exact=True).click()
    await page.get_by_label("Message").fill("Please call my dentist and move my cleaning to a Tuesday afternoon")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".bubble.assistant")).to_contain_text("Which phone number should I call?")
    await page.get_by_label("Message").fill("It is +1 415 555 0123")
    await page.get_by_role("button", name="Send").click()
    call = page.locator("fieldset.planned-call")
    await expect(call).to_have_count(1)
    await expect(call.get_by_label("Number")).to_have_value("+14155550123")
    await call.get_by_label("Callee").fill("Smile Dental")
    await call.get_by_label("Success").fill("A confirmed Tuesday slot")
    await shot(page, "chat")
    await call.get_by_label("Number").fill("+1 415")
    await call.get_by_label("Number").press("Enter")  # Enter confirms (not the call's "Try it" button)
    await expect(page.locator("fieldset.planned-call.invalid")).to_contain_text("is not a valid phone number")
    assert await tasks.list_tasks(pool, user.id) == []
    await page.locator("fieldset.planned-call").get_by_label("Number").fill("+1 415 555 0123")
    await page.get_by_role("button", name="Confirm and schedule").click()
    await expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    await expect(page.locator("table.tasks")).to_contain_text("Smile Dental")
    [task] = await tasks.list_tasks(pool, user.id)
    assert task.campaign_id is not None and task.success_criteria == "A confirmed Tuesday slot"


async def test_another_users_pages_are_not_found(open_page, browser, site, make_account, pool):
    alice, bob = await make_account(), await make_account()
    world = await make_world(pool, alice)
    anonymous = await browser.new_context(base_url=site, viewport={"width": 1280, "height": 720})
    login = await anonymous.new_page()
    await login.goto(f"/tasks/{world.task.id}")
    await expect(login.get_by_role("button", name="Sign in")).to_be_visible()
    await shot(login, "login")
    await anonymous.close()
    page = await open_page(bob)
    for path in (f"/tasks/{world.task.id}", f"/calls/{world.call.id}", f"/tasks/{world.task.id}/edit"):
        response = await page.goto(path)
        assert response.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await page.goto("/")
    await expect(page.locator("table.tasks")).not_to_contain_text("Smile Dental")
    await page.goto("/ari-events")
    await expect(page.locator("tr.ari-event")).to_have_count(0)
    await page.goto("/inbox")
    await expect(page.get_by_text("Is Thursday 3pm fine?")).to_have_count(0)
