"""A task's "Try it" within the daily allowance of test calls: 20 per user in 24 hours, the 21st refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from db import calls, tasks
from db.tasks import TaskDraft
from engine.agent.test_call import TEST_CALLS_PER_DAY, open_test_call
from engine.agent.test_call import TestCallRefused as Refused  # not collected as a test class
from tests.web.conftest import Browserless, serving


async def _signed_in(url: str, user) -> Browserless:
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    return web


async def _task(pool, user):
    draft = TaskDraft(phone_number="+14155550142", objective="Move the cleaning to a Tuesday afternoon")
    return await tasks.create_task(pool, user.id, draft, schedule_at=datetime.now(UTC) + timedelta(days=1))


async def test_the_21st_test_call_of_a_day_is_refused_with_a_clear_message_and_only_for_that_user(
    app, make_account, pool
):
    ada, bob = await make_account(), await make_account()
    task, bobs_task = await _task(pool, ada), await _task(pool, bob)
    async with serving(app) as url:
        web = await _signed_in(url, ada)
        for _ in range(TEST_CALLS_PER_DAY - 1):
            await calls.create_call(pool, ada.id, task.id, attempt=1, node_id="", destination="browser", is_test=True)
        twentieth = await web.post_form(f"/tasks/{task.id}/try", csrf_from=f"/tasks/{task.id}")
        assert twentieth.status_code == 303 and twentieth.headers["location"].startswith("/test-calls/")

        refused = await web.post_form(f"/tasks/{task.id}/try", csrf_from=f"/tasks/{task.id}")
        assert refused.status_code == 429, refused.text
        assert "No more test calls today" in refused.text
        assert "You have made 20 test calls in the last 24 hours; try again later." in refused.text
        assert len(await calls.list_calls(pool, ada.id, task_id=task.id, tests=True)) == TEST_CALLS_PER_DAY
        after = await tasks.get_task(pool, ada.id, task.id)
        assert (after.status, after.attempt_count) == (task.status, task.attempt_count)

        others = await _signed_in(url, bob)  # the allowance is per user
        tried = await others.post_form(f"/tasks/{bobs_task.id}/try", csrf_from=f"/tasks/{bobs_task.id}")
        assert tried.status_code == 303, tried.text
        await web.client.aclose()
        await others.client.aclose()


async def test_the_allowance_holds_when_test_calls_are_started_at_once(make_account, pool):
    """Five "Try it" clicks at the same moment against an allowance of two: two test calls, three refusals."""
    ada = await make_account()
    task = await _task(pool, ada)
    tried = await asyncio.gather(*(open_test_call(pool, task, "node", per_day=2) for _ in range(5)),
                                 return_exceptions=True)
    assert sum(isinstance(result, Refused) for result in tried) == 3
    assert len(await calls.list_calls(pool, ada.id, task_id=task.id, tests=True)) == 2
