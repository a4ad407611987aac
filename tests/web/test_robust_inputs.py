"""Every odd input gets a 400/422 with a clear message, never a 500 (issue 13)."""

from __future__ import annotations

import json
import uuid

import pytest

from db import api_tokens, tasks
from db.tasks import TaskDraft
from tests.web.conftest import make_world

TASK = {"phone_number": "+14155550123", "objective": "Ask about the opening hours"}
TASK_FORM = {"phone_number": "+1 415 555 0123", "callee_name": "Smile Dental", "objective": "Move my cleaning",
             "max_attempts": "4", "schedule": "now"}


@pytest.fixture
async def api(signed_in, pool):
    """(client, bearer headers, user) for a fresh user with an API token."""
    web, user = await signed_in()
    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    return web, {"Authorization": f"Bearer {secret}"}, user


@pytest.mark.parametrize(("constraints", "field"), [
    ({"days": 5}, "constraints.days"),
    ({"days": ["someday"]}, "constraints.days"),
    ({"answering_machine": ["x"]}, "constraints.answering_machine"),
    ({"answering_machine": "sing"}, "constraints.answering_machine"),
    ({"machine_message": "x" * 501}, "constraints.machine_message"),
    ({"time_zone": "Mars/Olympus"}, "constraints.time_zone"),
    ({"latest": "2030-01-01T10:00:00"}, "constraints.latest"),
    ({"latest": "next week"}, "constraints.latest"),
    ({"window": {"start": "17:00", "end": "09:00"}}, "constraints.window"),
    ({"window": {"start": "9"}}, "constraints.window.start"),
    ({"colour": "red"}, "constraints.colour"),
])
async def test_bad_constraints_are_refused_with_the_field_named(api, pool, constraints, field):
    web, bearer, user = api
    created = await web.client.post("/api/tasks", json={**TASK, "constraints": constraints}, headers=bearer)
    assert created.status_code == 422, created.text
    assert created.json()["field"] == field
    task = (await web.client.post("/api/tasks", json={**TASK, "draft": True}, headers=bearer)).json()
    updated = await web.client.put(f"/api/tasks/{task['id']}", json={**TASK, "constraints": constraints}, headers=bearer)
    assert updated.status_code == 422 and updated.json()["field"] == field
    assert (await tasks.get_task(pool, user.id, uuid.UUID(task["id"]))).constraints == {}


async def test_good_constraints_are_kept(api):
    web, bearer, _ = api
    constraints = {"window": {"start": "14:00", "end": "24:00"}, "days": ["tue", "Thursday"],
                   "time_zone": "America/New_York", "latest": "2030-03-06T18:00:00+01:00",
                   "answering_machine": "leave_message", "machine_message": "Please call back.", "notes": "Be brief"}
    created = await web.client.post("/api/tasks", json={**TASK, "constraints": constraints, "draft": True}, headers=bearer)
    assert created.status_code == 201, created.text
    assert created.json()["constraints"] == constraints


async def test_a_campaign_with_bad_constraints_names_the_task_and_field(api):
    web, bearer, _ = api
    plan = {"title": "Dentists", "tasks": [TASK, {**TASK, "constraints": {"days": 5}}]}
    refused = await web.client.post("/api/campaigns", json=plan, headers=bearer)
    assert refused.status_code in (400, 422)
    assert refused.json()["errors"][0]["task"] == 2 and refused.json()["errors"][0]["field"] == "constraints.days"


@pytest.mark.parametrize("body", [
    {**TASK, "objective": "Ask\x00about"},
    {**TASK, "callee_name": "Dr\x00Who"},
    {**TASK, "constraints": {"notes": "a\x00b"}},
])
async def test_nul_bytes_in_json_text_are_refused(api, body):
    web, bearer, _ = api
    response = await web.client.post("/api/tasks", json=body, headers=bearer)
    assert response.status_code in (400, 422), response.text
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/tasks?q=%00", "/api/tasks?status=%00", "/api/ari-events?event_type=%00",
                                  "/api/ari-events?channel_id=a%00b", "/api/hitl?status=%00"])
async def test_nul_bytes_in_queries_are_refused(api, path):
    web, bearer, _ = api
    response = await web.client.get(path, headers=bearer)
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/?q=%00", "/fragments/task-rows?q=%00", "/ari-events?event_type=%00"])
async def test_nul_bytes_in_page_queries_are_refused(signed_in, path):
    web, _ = await signed_in()
    response = await web.client.get(path)
    assert response.status_code == 400, response.text
    assert "NUL" in response.text


@pytest.mark.parametrize("field", ["callee_name", "objective", "facts", "notes"])  # a number is normalised
async def test_nul_bytes_in_the_task_form_are_refused(signed_in, field):
    web, _ = await signed_in()
    response = await web.post_form("/tasks", {**TASK_FORM, field: TASK_FORM.get(field, "x") + "\x00"})
    assert response.status_code == 400, response.text
    assert "NUL" in response.text


async def test_nul_bytes_in_other_forms_are_refused(signed_in, pool):
    web, user = await signed_in()
    profile = await web.post_form("/profile", {"display_name": "A\x00", "time_zone": "UTC"})
    assert profile.status_code == 400 and "NUL" in profile.text
    chat = await web.post_form("/chat/messages", {"message": "call\x00 my dentist"})
    assert chat.status_code == 400 and "NUL" in chat.text
    token = await web.post_form("/tokens", {"name": "x\x00"})
    assert token.status_code == 400 and "NUL" in token.text


@pytest.mark.parametrize("query", ["limit=-1", "limit=99999999999999999999999", "offset=-1",
                                   "offset=99999999999999999999999", "limit=abc"])
@pytest.mark.parametrize("path", ["/api/tasks", "/api/calls", "/api/campaigns", "/api/ari-events"])
async def test_out_of_range_paging_is_refused(api, path, query):
    web, bearer, _ = api
    if path == "/api/ari-events" and query.startswith("offset"):
        query = query.replace("offset", "before_id")
    response = await web.client.get(f"{path}?{query}", headers=bearer)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("before", ["-1", "99999999999999999999999"])
async def test_out_of_range_before_id_on_the_event_page_is_refused(signed_in, before):
    web, _ = await signed_in()
    response = await web.client.get(f"/ari-events?before={before}")
    assert response.status_code == 400, response.text


async def test_a_naive_schedule_at_is_refused(api):
    web, bearer, _ = api
    response = await web.client.post("/api/tasks", json={**TASK, "schedule_at": "2030-01-01T10:00:00"}, headers=bearer)
    assert response.status_code in (400, 422), response.text
    assert "schedule_at" in response.text and "time zone" in response.json()["detail"]


async def test_json_nested_thousands_deep_is_refused(api):
    web, bearer, _ = api
    deep = "[" * 5000 + "]" * 5000
    body = json.dumps({**TASK, "constraints": {"notes": "x"}})[:-1] + ', "facts": ' + deep + "}"
    response = await web.client.post("/api/tasks", content=body.encode(),
                                     headers={**bearer, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    deep_constraints = '{"phone_number": "+14155550123", "objective": "x", "constraints": {"notes": ' + deep + "}}"
    response = await web.client.post("/api/tasks", content=deep_constraints.encode(),
                                     headers={**bearer, "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text


@pytest.mark.parametrize("count", ["abc", "-5", "1e9", "99999999"])
async def test_a_bad_count_on_the_plan_review_is_refused(signed_in, pool, count):
    web, user = await signed_in()
    world = await make_world(pool, user)  # noqa: F841  (a conversation needs a user with rows; any will do)
    started = await web.post_form("/chat/messages", {"message": "Call +1 415 555 0123 and ask about opening hours"},
                                  csrf_from="/chat")
    assert started.status_code == 303, started.text
    conversation = started.headers["location"]
    response = await web.post_form(f"{conversation}/confirm", {"count": count, "title": "x"}, csrf_from=conversation)
    assert response.status_code in (400, 422), response.status_code
    assert "count" in response.text


async def test_schedule_bogus_on_the_form_is_refused(signed_in, pool):
    web, user = await signed_in()
    response = await web.post_form("/tasks", {**TASK_FORM, "schedule": "bogus"})
    assert response.status_code == 422, response.text
    assert "schedule" in response.text
    assert await tasks.list_tasks(pool, user.id) == []


async def test_a_task_in_the_database_with_bad_constraints_still_shows(signed_in, pool):
    """Rows written before validation existed: pages show them, nothing crashes."""
    web, user = await signed_in()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="Ask"))
    await pool.execute("""UPDATE tasks SET constraints = '{"days": 5, "latest": 7}'::jsonb WHERE id = $1""", task.id)
    assert (await web.client.get(f"/tasks/{task.id}")).status_code == 200
    assert (await web.client.get(f"/tasks/{task.id}/edit")).status_code == 200
