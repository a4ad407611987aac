"""A task may choose its voice provider (form, API); the call page shows which provider and model served a call."""

from __future__ import annotations

from db import api_tokens, calls, tasks
from tests.web.conftest import make_world

FORM = {"phone_number": "+1 415 555 0123", "callee_name": "Smile Dental", "objective": "Move my cleaning",
        "max_attempts": "4", "schedule": "draft"}


async def test_the_task_form_and_the_api_set_the_voice_provider(signed_in, pool):
    web, user = await signed_in()
    assert 'name="voice_provider"' in (await web.client.get("/tasks/new")).text
    assert (await web.post_form("/tasks", {**FORM, "voice_provider": "live"})).status_code == 303
    [task] = await tasks.list_tasks(pool, user.id)
    assert task.voice_provider == "live"
    page = (await web.client.get(f"/tasks/{task.id}/edit")).text
    assert '<option value="live" selected>' in page

    edited = await web.post_form(f"/tasks/{task.id}/edit", {**FORM, "voice_provider": ""})
    assert edited.status_code == 303
    assert (await tasks.get_task(pool, user.id, task.id)).voice_provider is None  # back to the installation default

    refused = await web.post_form("/tasks", {**FORM, "voice_provider": "telepathy"})
    assert refused.status_code == 400 and "voice_provider" in refused.text

    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    bearer = {"Authorization": f"Bearer {secret}"}
    created = await web.client.post("/api/tasks", json={"phone_number": "+14155550123", "objective": "Ask about hours",
                                                        "voice_provider": "realtime", "draft": True}, headers=bearer)
    assert created.status_code == 201, created.text
    assert created.json()["voice_provider"] == "realtime"


async def test_the_call_page_shows_the_provider_and_model_that_served_the_call(signed_in, pool):
    web, user = await signed_in()
    world = await make_world(pool, user)
    await calls.set_call_metrics(pool, user.id, world.call.id, {
        "time_to_first_audio_ms": 480, "voice_provider": "live", "voice_model": "gpt-live-1.1",
        "usage": {"active_seconds": 93.5}, "estimated_cost_usd": 0.078,
    })
    page = (await web.client.get(f"/calls/{world.call.id}")).text
    assert "OpenAI GPT-Live · gpt-live-1.1" in page
    assert "active seconds 93.5" in page

