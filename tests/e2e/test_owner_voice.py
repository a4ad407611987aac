"""The owner joins a live call from the call page, in Chromium with a fake microphone: Listen, Talk,
Hand back, Leave. The node is real (PBX simulator over ARI, fake Realtime model); the owner's speech
is made with espeak-ng at test time and reaches the simulated callee through the call's bridge.

Waits are on events: page events through `locator.evaluate` promises (the pages' CSP forbids
the eval behind `wait_for_function` strings), the callee's media clock, database notifications.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db import calls, campaigns, events, hitl, tasks, transcripts
from db.tasks import TaskDraft
from engine import accounts
from engine.planner.chat import RulePlanner
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from tests.browser import CHROMIUM, CHROMIUM_ARGS, expect, playwright_api
from tests.browser import shot as browser_shot
from tests.e2e.harness import TALKER, RunningNode, always_open
from tests.e2e.test_call import GOODBYE, GREETING
from tests.e2e.test_owner_leg import live_call
from tests.web.conftest import PASSWORD, serving
from web.app import create_app

pytestmark = pytest.mark.browser

if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
    pytest.skip("espeak-ng and sox make the owner's speech (apt-get install espeak-ng sox)", allow_module_level=True)

OWNER_WORDS = "Hello, this is Ada, and Tuesday at three works for me."
OWNER_SPEECH_MS = 2500  # espeak-ng says OWNER_WORDS in about 4 s; no callee turn of the talker is this long
AGENT = Reply("Thanks, let me check that for Ada.", audio_ms=1200)

STATE_IS = """(panel, wanted) => panel.dataset.state === wanted ? wanted : new Promise(resolve => {
    panel.addEventListener('owner-voice', function on(e) {
        if (e.detail.state === wanted || e.detail.state === 'failed') {
            panel.removeEventListener('owner-voice', on); resolve(e.detail.state); } }); })"""
HEARD_MORE_THAN = """(panel, frames) => Number(panel.dataset.heard || 0) > frames ? Number(panel.dataset.heard)
    : new Promise(resolve => panel.addEventListener('owner-voice-heard', function on(e) {
        if (e.detail.loud > frames) { panel.removeEventListener('owner-voice-heard', on); resolve(e.detail.loud); } }))"""


@pytest.fixture(scope="module")
def owner_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("owner-speech")
    raw, wav = folder / "raw.wav", folder / "owner.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "140", "-w", str(raw),
                    "Hello, this is Ada, and Tuesday at three works for me"], check=True)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav), "pad", "1.0", "1.0"], check=True)
    return wav


@pytest.fixture(scope="module")
async def mic_browser(owner_speech: Path) -> AsyncIterator[Any]:
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={owner_speech}%noloop", "--autoplay-policy=no-user-gesture-required"]
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        await launched.close()


@pytest.fixture
async def site(make_node) -> AsyncIterator[tuple[RunningNode, str]]:
    running = await make_node()
    running.script(ScriptedReplies(default=AGENT))
    app = create_app(running.node, planner=RulePlanner())
    async with serving(app) as url:
        yield running, url


async def sign_in(browser: Any, running: RunningNode, url: str) -> tuple[Any, Any, Any]:
    user = await accounts.create_account(running.pool, email=f"owner-{uuid.uuid4().hex[:8]}@example.test",
                                         password=PASSWORD, display_name="Ada", time_zone="UTC")
    context = await browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await page.goto("/login")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    return context, page, user


async def kinds_of(running: RunningNode, user: Any, call: Any) -> list[str]:
    await running.settle()
    return [e.kind for e in await events.list_call_events(running.pool, user.id, call.id)]


async def test_listen_talk_hand_back_and_leave_a_live_call(site, mic_browser):
    running, url = site
    context, page, user = await sign_in(mic_browser, running, url)
    call = await live_call(running, user)
    callee = running.pbx.callee(str(call.id))

    await page.goto(f"/calls/{call.id}")
    panel = page.locator("#owner-voice")
    await page.get_by_role("button", name="Listen").click()
    state = await within(panel, STATE_IS, "listening")
    assert state == "listening", await panel.locator(".owner-voice-status").text_content()
    # Listening: the page plays the call (agent and callee), not silence.
    assert await within(panel, HEARD_MORE_THAN, 25) > 25
    await browser_shot(page, "owner-listening")

    # Talk: the agent is muted; what the callee hears from now on is the owner's microphone.
    # The fake model "recognises" a long speech (the owner's sentence, about 4 s; the callee's turns are
    # shorter) as these words, in whichever of its sessions hears it: the agent's, if the owner's voice
    # reaches it in the call's mix, and the owner's own transcription.
    running.model.recognise = lambda voiced_ms: OWNER_WORDS if voiced_ms >= OWNER_SPEECH_MS else None
    heard_from_owner = bytearray()
    await page.get_by_role("button", name="Talk").click()
    assert await within(panel, STATE_IS, "talking") == "talking"
    # Until a second of quiet: the sentence pauses 0.2 s at its commas, and a loaded machine delays frames more.
    assert await callee.listen(until_silence_s=1.0, max_s=20, keep=heard_from_owner), "the callee heard no speech"
    assert _voiced_ms(heard_from_owner) >= 500, _voiced_ms(heard_from_owner)
    await browser_shot(page, "owner-talking")

    # Hand back: the agent speaks again (the owner's microphone no longer reaches the callee).
    await page.get_by_role("button", name="Hand back").click()
    assert await within(panel, STATE_IS, "listening") == "listening"
    assert await callee.listen(until_silence_s=0.4, max_s=20), "the agent did not resume"

    def told() -> bool:  # what the owner said and that they handed back, as text: the agent never heard them
        handed = [t for t in running.model.responder.turns if "handed the call back" in json.dumps(t.new_items)]
        agents = [t for t in running.model.responder.turns if handed and t.connection == handed[0].connection]
        return any("Tuesday at three works for me" in json.dumps(t.new_items) for t in agents)

    await running.model.wait_for(told, timeout=20)

    async def owner_turn() -> Any:
        turns = await transcripts.list_turns(running.pool, user.id, call.id)
        return next((t for t in turns if t.speaker == "owner"), None)

    said = await running.tap.until(owner_turn, 20, "the owner's words in the transcript")
    assert "Tuesday at three works for me" in said.text
    # The owner's words are theirs alone: the callee's side of the transcript does not repeat them.
    turns = await transcripts.list_turns(running.pool, user.id, call.id)
    assert not [t.text for t in turns if t.speaker == "callee" and "Tuesday at three" in t.text], turns
    # The call page (live, not reloaded) shows the owner as a third speaker.
    await expect(page.locator(".turn.owner .who")).to_have_text("You")

    await page.get_by_role("button", name="Leave").click()
    assert await within(panel, STATE_IS, "left") == "left"
    await running.pbx.wait_until(lambda: f"{call.id}-owner" not in running.pbx.leftovers()["channels"])
    still = await calls.get_call(running.pool, user.id, call.id)
    assert still.ended_at is None, "leaving ended the call"
    kinds = await kinds_of(running, user, call)
    owner_moves = [k for k in kinds if k.startswith("owner_")]
    assert owner_moves == ["owner_joined", "owner_talking", "owner_handed_back", "owner_left"], owner_moves
    await context.close()


async def test_a_second_user_cannot_open_the_owners_audio_socket(site, mic_browser):
    running, url = site
    owner_context, owner_page, owner = await sign_in(mic_browser, running, url)
    call = await live_call(running, owner)
    await owner_page.goto(f"/calls/{call.id}")
    token = await owner_page.evaluate(f"fetch('/calls/{call.id}/owner-token').then(r => r.json()).then(j => j.token)")

    other_context, other_page, _ = await sign_in(mic_browser, running, url)
    status = await other_page.evaluate(f"fetch('/calls/{call.id}/owner-token').then(r => r.status)")
    assert status == 404
    outcome = await other_page.evaluate("""([callId, token]) => new Promise(resolve => {
        const ws = new WebSocket(`ws://${location.host}/ws/calls/${callId}/owner?token=${encodeURIComponent(token)}`);
        ws.onopen = () => resolve('open'); ws.onclose = (e) => resolve('closed ' + e.code); })""", [str(call.id), token])
    assert outcome == "closed 1006", outcome
    assert f"{call.id}-owner" not in running.pbx.leftovers()["channels"]
    await owner_context.close()
    await other_context.close()


async def within(panel: Any, script: str, arg: Any, timeout: float = 30.0) -> Any:
    """`panel.evaluate(script, arg)`, a promise resolved by page events, under a timeout."""
    try:
        return await asyncio.wait_for(panel.evaluate(script, arg), timeout)
    except TimeoutError:
        status = await panel.locator("[role=status]").text_content()
        raise AssertionError(f"timed out; the page says {status!r} (state {await panel.get_attribute('data-state')})")


def _voiced_ms(pcm: bytes) -> int:
    from ari_apps.simulator import audio

    return 20 * sum(not audio.is_silent(frame) for frame in audio.frames(bytes(pcm)))


TEST_STATE_IS = STATE_IS.replace("'owner-voice'", "'test-call'")


async def try_a_task(running: RunningNode, page: Any, user: Any) -> tuple[Any, Any]:
    """A task for tomorrow; on its page the owner presses Try it, then Start test call: connected."""
    task = await tasks.create_task(
        running.pool, user.id, TaskDraft(phone_number=TALKER, objective="Move Ada's cleaning to a Tuesday afternoon",
                                         callee_name="Smile Dental", constraints=always_open()),
        schedule_at=datetime.now(UTC) + timedelta(days=1),
    )
    await page.goto(f"/tasks/{task.id}")
    await page.get_by_role("button", name="Try it").click()
    panel = page.locator("#test-call")
    await expect(panel).to_have_attribute("data-state", "idle")  # its script is running
    await page.get_by_role("button", name="Start test call").click()
    assert await within(panel, TEST_STATE_IS, "connected") == "connected"
    return task, panel


async def test_a_test_call_runs_the_tasks_agent_against_the_browser_and_is_stored_as_a_test(site, mic_browser):
    running, url = site
    running.script(ScriptedReplies([GREETING, GOODBYE]))
    running.model.callee_lines.append(OWNER_WORDS)  # what the simulator "recognises" in the owner's first turn
    context, page, user = await sign_in(mic_browser, running, url)
    task, panel = await try_a_task(running, page, user)
    assert await within(panel, HEARD_MORE_THAN.replace("owner-voice-heard", "test-call-heard"), 25) > 25
    # The owner answers (the fake microphone); the agent says goodbye and ends the test with end_call.
    assert await within(panel, TEST_STATE_IS, "ended") == "ended"
    await browser_shot(page, "test-call-ended")

    [test_call] = await calls.list_calls(running.pool, user.id, task_id=task.id, tests=True)
    assert test_call.is_test and test_call.status == "ended" and test_call.hangup_by == "agent", test_call
    assert test_call.metrics, "no metrics stored"
    turns = await transcripts.list_turns(running.pool, user.id, test_call.id)
    assert any(t.speaker == "callee" and "Tuesday at three works for me" in t.text for t in turns), turns
    assert any(t.speaker == "agent" and "Thank you, goodbye" in t.text for t in turns), turns
    after = await tasks.get_task(running.pool, user.id, task.id)
    assert (after.status, after.attempt_count) == (task.status, task.attempt_count)
    assert await calls.list_calls(running.pool, user.id, task_id=task.id) == []  # no attempt made
    await page.goto(f"/calls/{test_call.id}")
    await expect(page.locator(".transcript")).to_contain_text("Tuesday at three works for me")
    await context.close()


async def test_the_owner_ends_a_test_call_with_end_and_nothing_is_left_running(site, mic_browser):
    running, url = site
    running.script(ScriptedReplies([GREETING], default=AGENT))  # the agent never ends it by itself
    running.model.callee_lines.append(OWNER_WORDS)
    context, page, user = await sign_in(mic_browser, running, url)
    task, panel = await try_a_task(running, page, user)
    assert await within(panel, HEARD_MORE_THAN.replace("owner-voice-heard", "test-call-heard"), 25) > 25
    [test_call] = await calls.list_calls(running.pool, user.id, task_id=task.id, tests=True)

    async def owner_heard() -> Any:  # the owner answered (fake microphone) and the agent heard it
        turns = await transcripts.list_turns(running.pool, user.id, test_call.id)
        return next((t for t in turns if t.speaker == "callee"), None)

    said = await running.tap.until(owner_heard, 30, "the owner's words in the test call's transcript")
    assert "Tuesday at three works for me" in said.text
    assert running.model.open_sessions(), "the model session is not open during the test call"

    await page.get_by_role("button", name="End").click()
    assert await within(panel, TEST_STATE_IS, "ended") == "ended"
    await expect(panel.locator(".test-call-status")).to_have_text(
        "The test call is over: you ended it. Its transcript is stored.")
    await expect(page.get_by_role("button", name="End")).to_be_disabled()
    await browser_shot(page, "test-call-ended-by-owner")

    async def stored() -> Any:
        ended = await calls.get_call(running.pool, user.id, test_call.id)
        return ended if ended.status == "ended" else None

    ended = await running.tap.until(stored, 20, "the test call stored as ended")
    assert (ended.is_test, ended.outcome, ended.hangup_by, ended.detail) == (True, "answered", "callee", "you ended it")
    assert ended.ended_at is not None and ended.metrics, ended
    await running.settle()
    turns = await transcripts.list_turns(running.pool, user.id, test_call.id)
    assert any(t.speaker == "agent" and t.text == GREETING.text for t in turns), turns
    assert any(t.speaker == "callee" and "Tuesday at three works for me" in t.text for t in turns), turns
    await running.model.wait_until_all_closed(timeout=10)  # the simulator saw the model session closed
    names = [t.get_name() for t in asyncio.all_tasks()]
    left = [name for name in names if str(test_call.id) in name or name.startswith("realtime-")]
    assert left == [], left  # the call's tasks, its pacer and the model session's reader and writer are gone
    after = await tasks.get_task(running.pool, user.id, task.id)
    assert (after.status, after.attempt_count) == (task.status, task.attempt_count)
    assert await calls.list_calls(running.pool, user.id, task_id=task.id) == []  # no attempt made
    await page.reload()  # later, the test call's page says why it ended
    await expect(panel.locator(".test-call-status")).to_have_text("This test call is over: you ended it.")
    await context.close()


QUESTION = "Which afternoon suits Ada best?"
ANSWER = "Tuesday after two"
KEYS_HEARD = """(panel, keys) => panel.querySelector('.test-call-keys').textContent === keys ? keys
    : new Promise(resolve => new MutationObserver((_, seen) => {
        const now = panel.querySelector('.test-call-keys').textContent;
        if (now === keys) { seen.disconnect(); resolve(now); } })
      .observe(panel.querySelector('.test-call-keys'), { childList: true, characterData: true, subtree: true }))"""


ASK_ADA = SimToolCall("request_user_info", {"question": QUESTION, "timeout_seconds": 300})
KEYS_AND_QUESTION = Reply("Hello, one moment: I press one and hash, and check with Ada.", audio_ms=1500,
                          tool_calls=(SimToolCall("send_dtmf", {"digits": "1#"}), ASK_ADA))


class FirstThenGoodbye:
    """When the owner has answered (their fake microphone), the agent says `first` (by default: greets,
    presses 1# and asks Ada: send_dtmf, request_user_info); when her answer comes back it says goodbye
    and ends the test (end_call). Silent otherwise."""

    def __init__(self, first: Reply = KEYS_AND_QUESTION) -> None:
        self.turns: list[Any] = []
        self.first = first

    def reply(self, turn: Any) -> Reply:
        self.turns.append(turn)
        if len(self.turns) == 1:
            return self.first
        if ANSWER in json.dumps(turn.new_items):
            return GOODBYE
        return Reply("", audio_ms=0)


async def test_a_test_call_shows_the_agents_keys_asks_this_owner_and_ends_with_end_call(site, mic_browser):
    running, url = site
    responder = FirstThenGoodbye()
    running.script(responder)
    running.model.callee_lines.append(OWNER_WORDS)
    context, page, user = await sign_in(mic_browser, running, url)
    task, panel = await try_a_task(running, page, user)
    # The owner speaks first (fake microphone); the keys the agent then pressed (send_dtmf) are shown.
    assert await within(panel, KEYS_HEARD, "1#") == "1#"

    # The agent asked Ada: the question is in this owner's inbox.
    async def asked() -> Any:
        open_questions = await hitl.list_requests(running.pool, user.id, status="open")
        return next((q for q in open_questions if q.question == QUESTION), None)

    question = await running.tap.until(asked, 30, "the agent's question in the owner's inbox")
    [test_call] = await calls.list_calls(running.pool, user.id, task_id=task.id, tests=True)
    assert question.call_id == test_call.id
    inbox = await context.new_page()
    await inbox.goto("/inbox")
    card = inbox.locator(f'[data-question-id="{question.id}"]')
    await expect(card).to_contain_text(QUESTION)
    await card.get_by_label("Your answer").fill(ANSWER)
    await card.get_by_role("button", name="Answer").click()
    await expect(inbox.locator(f'[data-question-id="{question.id}"]')).to_have_count(0)

    # The answer reaches the test call: the agent hears it, says goodbye and ends the test (end_call).
    assert await within(panel, TEST_STATE_IS, "ended") == "ended"
    assert any(ANSWER in json.dumps(t.new_items) for t in responder.turns), "the answer never reached the agent"
    await running.settle()
    ended = await calls.get_call(running.pool, user.id, test_call.id)
    assert ended.status == "ended" and ended.hangup_by == "agent", ended
    kinds = [e.kind for e in await events.list_call_events(running.pool, user.id, test_call.id)]
    assert "hitl_asked" in kinds and "hitl_answered" in kinds, kinds
    assert await calls.list_calls(running.pool, user.id, task_id=task.id) == []  # no attempt made
    await context.close()


async def test_try_a_planned_call_before_confirming_creates_no_task_or_campaign(site, mic_browser):
    running, url = site
    responder = FirstThenGoodbye(Reply(GREETING.text, audio_ms=GREETING.audio_ms, tool_calls=(ASK_ADA,)))
    running.script(responder)
    running.model.callee_lines.append(OWNER_WORDS)
    context, page, user = await sign_in(mic_browser, running, url)
    await page.get_by_role("link", name="Assistant", exact=True).click()
    await page.get_by_label("Message").fill("Please call my dentist and move my cleaning to a Tuesday afternoon")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".bubble.assistant")).to_contain_text("Which phone number should I call?")
    await page.get_by_label("Message").fill("It is +1 415 555 0123")
    await page.get_by_role("button", name="Send").click()
    planned = page.locator("fieldset.planned-call")
    await expect(planned).to_have_count(1)
    # Edits on the review page, not yet confirmed, are what the test call runs.
    await planned.get_by_label("Callee").fill("Smile Dental")
    await planned.get_by_label("Success").fill("A confirmed Tuesday slot")
    await planned.get_by_role("button", name="Try call 1").click()

    panel = page.locator("#test-call")
    await expect(panel).to_have_attribute("data-state", "idle")
    await expect(page.locator(".crumbs")).to_contain_text("Plan")
    await page.get_by_role("button", name="Start test call").click()
    assert await within(panel, TEST_STATE_IS, "connected") == "connected"
    # The owner answers (fake microphone); the agent's greeting is heard: audio, not silence.
    assert await within(panel, HEARD_MORE_THAN.replace("owner-voice-heard", "test-call-heard"), 25) > 25

    # The agent asked Ada (request_user_info): with no task, the question still reaches this owner's inbox,
    # about the proposed call, and the answer reaches the test call.
    async def asked() -> Any:
        return next(iter(await hitl.list_requests(running.pool, user.id, status="open")), None)

    question = await running.tap.until(asked, 30, "the agent's question in the owner's inbox")
    assert question.task_id is None and question.question == QUESTION, question
    inbox = await context.new_page()
    await inbox.goto("/inbox")
    card = inbox.locator(f'[data-question-id="{question.id}"]')
    await expect(card.locator(".question-about .callee")).to_have_text("Smile Dental")
    await card.get_by_label("Your answer").fill(ANSWER)
    await card.get_by_role("button", name="Answer").click()
    await expect(inbox.locator(f'[data-question-id="{question.id}"]')).to_have_count(0)
    # The answer reaches the test call: the agent says goodbye and ends it (end_call).
    assert await within(panel, TEST_STATE_IS, "ended") == "ended"
    assert any(ANSWER in json.dumps(t.new_items) for t in responder.turns), "the answer never reached the agent"
    await browser_shot(page, "plan-test-call-ended")

    # The agent ran the proposed call as its task would: its objective, callee and success criteria.
    first = responder.turns[0]
    assert "move my cleaning to a Tuesday afternoon" in first.session_instructions, first.session_instructions
    assert "A confirmed Tuesday slot" in first.session_instructions
    assert "Am I speaking with Smile Dental?" in json.dumps(first.new_items)
    assert {"end_call", "send_dtmf", "request_user_info"} <= set(first.tool_names), first.tool_names

    async def stored() -> Any:
        [test_call] = await calls.list_calls(running.pool, user.id, tests=True)
        return test_call if test_call.status == "ended" else None

    test_call = await running.tap.until(stored, 20, "the test call stored as ended")
    assert test_call.is_test and test_call.task_id is None and test_call.hangup_by == "agent", test_call
    assert test_call.test_draft["task"]["callee_name"] == "Smile Dental"
    turns = await transcripts.list_turns(running.pool, user.id, test_call.id)
    assert any(t.speaker == "agent" and "calling for Ada" in t.text for t in turns), turns
    assert await tasks.list_tasks(running.pool, user.id) == []
    assert await campaigns.list_campaigns(running.pool, user.id) == []
    await page.goto(f"/calls/{test_call.id}")
    await expect(page.locator(".transcript")).to_contain_text("calling for Ada")
    await context.close()
