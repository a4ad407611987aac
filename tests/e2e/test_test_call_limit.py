"""A test call's length cap, on the injected clock: a real node (fake Realtime model, PostgreSQL), the
test call's browser transport (`BrowserCall`) paced on a `ManualClock`, and the page as the server sees it.

Time moves only when the pacer has a frame due (20 ms ticks, as a page would play them) or when the
test lets the call reach its cap; every wait is on a condition."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from db import calls, events, tasks, transcripts
from db.tasks import TaskDraft
from engine import accounts
from engine.agent.browser_call import FRAME_S, BrowserCall
from engine.agent.test_call import open_test_call, run_test_call
from engine.planner.chat import RulePlanner
from engine.voice.simulator.script import Reply, ScriptedReplies
from tests.agent.rig import advance_when_due
from tests.clock import ManualClock
from tests.e2e.harness import TALKER, always_open
from tests.e2e.test_call import GREETING
from tests.web.conftest import PASSWORD, Browserless, serving
from web.app import create_app
from web.test_calls import agent_runner

WRAP_UP = Reply("I'm sorry, I have to end this call now: Tuesday at three is agreed. Goodbye!", audio_ms=1000)
CAP_S = 6.0  # this test call's cap (the product's is 300 s), below the dead-air check-in (8 s after the greeting)


class OwnersPage:
    """The test call's page as the server sees it: the frames and messages sent over its socket."""

    def __init__(self) -> None:
        self.frames = 0
        self.messages: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()

    async def send(self, item: bytes | str) -> None:
        if isinstance(item, bytes):
            self.frames += 1
        else:
            self.messages.append(json.loads(item))
        async with self._changed:
            self._changed.notify_all()

    def said(self, event: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m.get("event") == event), None)

    async def wait_for(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)
        return check()


async def play_until(clock: ManualClock, page: OwnersPage, check: Callable[[], Any], timeout: float = 10.0) -> None:
    """Let time pass 20 ms at a time while the page has a frame due, until `check()` holds."""
    async with asyncio.timeout(timeout):
        while not check():
            ticking = asyncio.create_task(advance_when_due(clock, FRAME_S, timeout), name="tick-when-a-frame-is-due")
            changed = asyncio.create_task(page.wait_for(check, timeout), name="page-changed")
            await asyncio.wait({ticking, changed}, return_when=asyncio.FIRST_COMPLETED)
            for waiting in (ticking, changed):
                waiting.cancel()
            await asyncio.gather(ticking, changed, return_exceptions=True)


async def test_a_test_call_at_its_length_cap_wraps_up_politely_ends_by_itself_and_says_why(make_node):
    running = await make_node()
    running.script(ScriptedReplies([GREETING, WRAP_UP]))
    user = await accounts.create_account(running.pool, email=f"cap-{uuid.uuid4().hex[:8]}@example.test",
                                         password=PASSWORD, display_name="Ada", time_zone="UTC")
    draft = TaskDraft(phone_number=TALKER, objective="Move Ada's cleaning to a Tuesday afternoon",
                      callee_name="Smile Dental", greet_first=True, constraints=always_open())
    task = await tasks.create_task(running.pool, user.id, draft, schedule_at=datetime.now(UTC) + timedelta(days=1))
    call_row = await open_test_call(running.pool, task, running.node.settings.node_id)
    clock, page = ManualClock(start=datetime.now(UTC)), OwnersPage()
    call = BrowserCall(str(call_row.id), page.send, clock)
    runner = agent_runner(running.node)
    test_call = asyncio.create_task(
        run_test_call(running.pool, runner, task, call_row, call, max_s=CAP_S), name="test-call-capped"
    )
    await play_until(clock, page, lambda: page.frames >= 25)  # the agent greets; the owner listens, silent
    assert page.said("HANGUP") is None and not test_call.done()

    await advance_when_due(clock, CAP_S - clock.monotonic(), timeout=10)  # the cap is reached, in silence
    await play_until(clock, page, lambda: page.said("HANGUP"))  # the agent wraps up, is heard to the end, hangs up
    await asyncio.wait_for(test_call, 10)  # the test call ended by itself

    ended = await page.wait_for(lambda: page.said("ENDED"))  # the live page is told why, last
    assert ended["detail"] == "it reached the 6-second limit of a test call; the agent wrapped up", page.messages
    assert page.messages[-1] == ended, page.messages
    await running.settle()
    stored = await calls.get_call(running.pool, user.id, call_row.id)
    assert (stored.is_test, stored.status, stored.outcome, stored.hangup_by) == (True, "ended", "answered", "agent")
    assert stored.detail == ended["detail"], stored.detail
    asked = running.model.received("response.create")[-1]["response"]["instructions"]
    assert "time limit" in asked and "politely" in asked, asked  # wrapped up as any call at its length limit
    kinds = [e.kind for e in await events.list_call_events(running.pool, user.id, call_row.id)]
    assert "call_limit" in kinds and "no_response" not in kinds, kinds
    turns = await transcripts.list_turns(running.pool, user.id, call_row.id)
    assert [t.text for t in turns if t.speaker == "agent"] == [GREETING.text, WRAP_UP.text], turns
    assert not [t for t in turns if t.speaker == "agent"][-1].truncated  # heard to the end: polite, not cut off
    assert running.model.open_sessions() == []
    after = await tasks.get_task(running.pool, user.id, task.id)
    assert (after.status, after.attempt_count) == (task.status, task.attempt_count)
    async with serving(create_app(running.node, planner=RulePlanner())) as url:  # the test call's page, later
        web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
        await web.login(user)
        shown = await web.client.get(f"/test-calls/{call_row.id}")
        await web.client.aclose()
    assert f"This test call is over: {ended['detail']}." in shown.text
