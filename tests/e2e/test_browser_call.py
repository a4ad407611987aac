"""The product as a person uses it: the real app and a real node (simulated phone system and model), in Chromium.

The page is never reloaded while a call runs: the task page, the inbox badge
and the call page follow the engine through live updates. Screenshots land in
test-artifacts/e2e-*.png for people to look at.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from db import hitl, tasks
from engine import accounts
from engine.planner.chat import RulePlanner
from engine.voice.simulator.script import ScriptedReplies
from tests.browser import browser, expect, live, signed_in_page  # noqa: F401 (browser is a fixture)
from tests.browser import shot as browser_shot
from tests.e2e.harness import TALKER, RunningNode
from tests.e2e.scenes import NeedsTheOwner
from tests.e2e.test_call import ASK, GOODBYE, GREETING
from tests.web.conftest import PASSWORD, serving
from web.app import create_app

pytestmark = pytest.mark.browser

CALL_S = 30_000  # ms a whole simulated call may take before the page must show its end

# Records every status the task page shows, so a test can tell it followed the call without a reload.
WATCH_STATUS = """() => {
  window.__sameDocument = true;
  window.__statuses = [document.querySelector('#task-status').dataset.status];
  new MutationObserver(() => {
    const el = document.querySelector('#task-status');
    const last = window.__statuses[window.__statuses.length - 1];
    if (el && el.dataset.status !== last) window.__statuses.push(el.dataset.status);
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


@pytest.fixture
async def site(make_node) -> AsyncIterator[tuple[RunningNode, str]]:
    running = await make_node(record_calls=True)
    app = create_app(running.node, planner=RulePlanner())
    async with serving(app) as url:
        yield running, url


@pytest.fixture
async def signed_in(browser, site) -> AsyncIterator:
    running, url = site
    contexts: list[Any] = []

    async def make() -> tuple[Any, Any]:
        user = await accounts.create_account(running.pool, email=f"e2e-{uuid.uuid4().hex[:8]}@example.test",
                                             password=PASSWORD, display_name="Ada", time_zone="UTC")
        context, page = await signed_in_page(browser, url, user.email)
        contexts.append(context)
        return page, user

    yield make
    for context in contexts:
        await context.close()


async def shot(page: Any, name: str) -> None:
    await browser_shot(page, f"e2e-{name}")


async def create_task_with_the_form(page: Any, number: str, objective: str) -> None:
    await page.get_by_role("link", name="New task").first.click()
    await page.get_by_label("Phone number").fill(number)
    await page.get_by_label("Who you are calling").fill("Smile Dental")
    await page.get_by_label("Objective").fill(objective)
    await page.get_by_label("What counts as success").fill("A confirmed Tuesday afternoon slot")
    await page.get_by_role("button", name="Create task").click()
    await expect(page.locator("#task-status")).to_be_visible()


async def test_create_a_task_and_watch_its_call_live_then_read_the_call(site, signed_in):
    running, _ = site
    running.script(ScriptedReplies([GREETING, ASK, GOODBYE]))
    page, user = await signed_in()
    await create_task_with_the_form(page, "+1 202 555 0101", "Move Ada's cleaning to a Tuesday afternoon")
    await page.evaluate(WATCH_STATUS)
    await live(page)

    await expect(page.locator("#task-status")).to_have_text("Succeeded", timeout=CALL_S)
    await expect(page.locator("ol.timeline")).to_contain_text("Call answered")
    # The status chip says "Succeeded"; the message beside it does not say it again.
    outcome = page.locator("ol.timeline li.ev").filter(has_text="Cleaning moved to Tuesday at 3 pm")
    await expect(outcome.locator(".status")).to_have_text("Succeeded")
    await expect(outcome.locator(".msg")).to_have_text("Cleaning moved to Tuesday at 3 pm")
    await expect(page.locator("ol.timeline li.call")).to_contain_text("answered")
    shown = await page.evaluate("window.__statuses")
    assert await page.evaluate("window.__sameDocument") is True  # followed live, never reloaded
    assert shown[0] in ("scheduled", "dialing", "in_call") and shown[-1] == "succeeded", shown
    [task] = await tasks.list_tasks(running.pool, user.id)
    assert task.status == "succeeded" and task.phone_number == "+12025550101"
    await shot(page, "task-after-call")

    await page.get_by_role("link", name="Call attempt 1").click()
    await expect(page.locator("#call-outcome")).to_have_text("answered")
    await expect(page.locator(".transcript")).to_contain_text(ASK.text)
    await expect(page.locator(".transcript")).to_contain_text(GOODBYE.text)
    await expect(page.locator("tr.ari-event", has_text="StasisStart").first).to_be_visible()
    await expect(page.locator("tr.ari-event", has_text="ChannelDestroyed").first).to_be_visible()
    metrics = page.locator("section.card", has=page.get_by_role("heading", name="Metrics"))
    await expect(metrics).to_contain_text("output audio tokens")
    await expect(metrics).not_to_contain_text("{'")  # no raw Python reprs
    await shot(page, "call")


async def test_the_model_asks_and_the_owner_answers_in_the_browser_during_the_call(site, signed_in):
    running, _ = site
    question = "Is Thursday at 3 pm fine for Ada?"
    running.script(NeedsTheOwner(question))
    page, user = await signed_in()
    await create_task_with_the_form(page, "+1 202 555 0101", "Book Ada's cleaning for Thursday afternoon")
    await live(page)
    await page.evaluate("window.__sameDocument = true")

    badge = page.locator("#hitl-badge")
    await expect(badge).to_have_text("1", timeout=CALL_S)  # the question arrives while the page is open
    await expect(page.locator(".hitl-notice")).to_contain_text(question)
    assert await page.evaluate("window.__sameDocument") is True
    await shot(page, "task-asking")

    await page.locator(".hitl-notice").get_by_role("link", name="answer in the inbox").click()
    card = page.locator(".card.question", has_text=question)
    await expect(card.locator(".countdown")).to_contain_text("left")
    await shot(page, "inbox-question")
    await card.get_by_label("Your answer").fill("Yes, Thursday at 3 pm is fine")
    await card.get_by_role("button", name="Answer").click()
    await expect(page.locator("ul.answered")).to_contain_text("Yes, Thursday at 3 pm is fine")
    await expect(badge).to_have_text("0")

    [task] = await tasks.list_tasks(running.pool, user.id)
    done = await running.wait_for_task(task)
    assert done.status == "succeeded", done
    [asked] = await hitl.list_requests(running.pool, user.id, task_id=task.id)
    assert (asked.status, asked.answer) == ("answered", "Yes, Thursday at 3 pm is fine")

    await page.goto(f"/tasks/{task.id}")
    await expect(page.locator("#task-status")).to_have_text("Succeeded")
    await expect(page.locator("ol.timeline")).to_contain_text("Yes, Thursday at 3 pm is fine")
    await page.get_by_role("link", name="Call attempt 1").click()
    await expect(page.locator(".transcript")).to_contain_text("Thursday at three works for Ada")
    await shot(page, "hitl-call")


async def test_the_call_page_plays_the_recording_the_pbx_made(site, signed_in):
    """Recording on, through the PBX simulator: the engine fetched the file after the call, and Chromium's
    <audio> element on the call page loads it (by byte ranges) and plays it."""
    running, _ = site
    running.script(ScriptedReplies([GREETING, ASK, GOODBYE]))
    page, user = await signed_in()
    task = await running.schedule(user, TALKER, "Move Ada's cleaning to a Tuesday afternoon")
    done = await running.wait_for_task(task)

    async def recorded() -> Any:
        [call] = await running.calls_of(done)
        return call if call.recording else None

    call = await running.tap.until(recorded, 20, "the call's recording to be stored")
    answers: list[tuple[int, str]] = []
    page.on("response", lambda r: answers.append((r.status, r.headers.get("content-range", "")))
            if r.url.endswith(f"/calls/{call.id}/recording") else None)
    await page.goto(f"/calls/{call.id}")
    audio = page.locator("audio")
    await expect(audio).to_have_attribute("src", f"/calls/{call.id}/recording")
    await audio.evaluate("a => { a.preload = 'auto'; a.load(); }")
    # Event-driven waits: the page's Content-Security-Policy forbids the eval that wait_for_function's strings need.
    await audio.evaluate("""a => (a.readyState >= 2 || a.error) ? true : new Promise(resolve => {
        a.addEventListener('canplay', () => resolve(true), {once: true});
        a.addEventListener('error', () => resolve(true), {once: true}); })""")
    state = await audio.evaluate("a => ({ready: a.readyState, duration: a.duration, error: a.error && a.error.code})")
    assert state["error"] is None and state["ready"] >= 2 and state["duration"] > 3, state
    await audio.evaluate("a => { a.muted = true; return a.play(); }")  # muted: no autoplay gesture needed
    await audio.evaluate("""a => new Promise(resolve => {
        const check = () => { if (a.currentTime > 0.2) { a.removeEventListener('timeupdate', check); resolve(true); } };
        a.addEventListener('timeupdate', check); check(); })""")
    assert await audio.evaluate("a => a.error") is None
    assert any(status == 206 and content_range.startswith("bytes 0-") for status, content_range in answers), answers
    await shot(page, "call-recording")
