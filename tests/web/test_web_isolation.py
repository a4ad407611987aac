"""User B signed in tries every route that takes an id with user A's ids: 404 each time."""

from __future__ import annotations

from db import api_tokens, calls, campaigns, chats, events, hitl, tasks, users
from db.tasks import TaskDraft
from tests.web.conftest import make_world


async def test_every_route_with_an_id_is_404_for_another_user(app, signed_in, make_account, pool):
    alice = await make_account()
    world = await make_world(pool, alice, recording=f"{alice.id}/alice.wav")
    conversation = await chats.create_conversation(pool, alice.id)
    token = (await api_tokens.create_token(pool, alice.id, "alice's script")).token
    campaign = await campaigns.create_campaign(pool, alice.id, title="Alice's dentists")
    note = await events.add_task_event(pool, alice.id, world.task.id, kind="strategy", message="Try afternoons",
                                       data={"suggestion": {"window": {"start": "15:00", "end": "18:00"}}})
    web, bob = await signed_in()
    bob_token = (await api_tokens.create_token(pool, bob.id, "bob", "write")).secret
    bearer = {"Authorization": f"Bearer {bob_token}"}
    t, c, q = world.task.id, world.call.id, world.question.id

    pages_get = [f"/tasks/{t}", f"/tasks/{t}/edit", f"/fragments/tasks/{t}", f"/calls/{c}", f"/fragments/calls/{c}",
                 f"/calls/{c}/recording", f"/chat/{conversation.id}", f"/campaigns/{campaign.id}/export.csv",
                 f"/calls/{c}/owner-token", f"/test-calls/{c}"]
    pages_post = [f"/tasks/{t}/edit", f"/tasks/{t}/cancel", f"/tasks/{t}/call-now", f"/inbox/{q}/answer",
                  f"/chat/{conversation.id}/messages", f"/chat/{conversation.id}/confirm", f"/tokens/{token.id}/revoke",
                  f"/tasks/{t}/strategy/{note.id}/accept", f"/calls/{c}/recording/delete", f"/tasks/{t}/try",
                  f"/chat/{conversation.id}/try"]
    api_get = [f"/api/campaigns/{world.task.id}", f"/api/tasks/{t}", f"/api/tasks/{t}/events", f"/api/calls/{c}",
               f"/api/calls/{c}/transcript", f"/api/calls/{c}/events", f"/api/calls/{c}/ari-events", f"/api/hitl/{q}"]
    api_post = [f"/api/tasks/{t}/cancel", f"/api/tasks/{t}/call-now"]

    tried: set[str] = set()
    for path in pages_get:
        response = await web.client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "Not found" in response.text
        tried.add(("GET", path))
    form = {"answer": "hijacked", "message": "hijacked", "phone_number": "+14155550100", "objective": "x", "count": "0"}
    for path in pages_post:
        response = await web.post_form(path, form)
        assert response.status_code == 404, (path, response.status_code, response.text[:200])
        tried.add(("POST", path))
    for path in api_get:
        response = await web.client.get(path, headers=bearer)
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["detail"].startswith("No such")
        tried.add(("GET", path))
    for path in api_post:
        response = await web.client.post(path, headers=bearer)
        assert response.status_code == 404, (path, response.status_code)
        tried.add(("POST", path))
    response = await web.client.put(f"/api/tasks/{t}", headers=bearer, json={"phone_number": "+14155550100", "objective": "x"})
    assert response.status_code == 404
    tried.add(("PUT", f"/api/tasks/{t}"))
    response = await web.client.post(f"/api/hitl/{q}/answer", headers=bearer, json={"answer": "hijacked"})
    assert response.status_code == 404
    tried.add(("POST", f"/api/hitl/{q}/answer"))

    # An administrator's route: a user may not reset anyone's password (A's stays as it was).
    response = await web.post_form(f"/admin/users/{alice.id}/reset-password")
    assert response.status_code == 403
    tried.add(("POST", f"/admin/users/{alice.id}/reset-password"))

    # Lists and filters by A's ids come back empty for B.
    for path in (f"/api/tasks?campaign_id={t}", f"/api/calls?task_id={t}", f"/api/ari-events?call_id={c}",
                 f"/api/hitl?task_id={t}", "/api/tasks", "/api/calls", "/api/ari-events", "/api/hitl", "/api/campaigns"):
        response = await web.client.get(path, headers=bearer)
        assert response.status_code == 200 and response.json() == [], path
    for path in ("/", f"/ari-events?call={c}", "/inbox", "/fragments/inbox", "/fragments/task-rows"):
        response = await web.client.get(path)
        assert "Smile Dental" not in response.text and "Is Thursday 3pm fine?" not in response.text, path
        assert "ari-event\"" not in response.text and "ChannelCreated" not in response.text, path

    # Nothing of A's changed.
    assert (await hitl.get_request(pool, alice.id, q)).status == "open"
    assert [x.revoked_at for x in await api_tokens.list_tokens(pool, alice.id)] == [None]
    assert not (await users.get_user(pool, alice.id)).must_change_password
    assert "window" not in (await tasks.get_task(pool, alice.id, t)).constraints
    assert (await calls.get_call(pool, alice.id, c)).recording == f"{alice.id}/alice.wav"
    # B's own task with A's strategy note: still not found.
    own = await tasks.create_task(pool, bob.id, TaskDraft(phone_number="+14155550100", objective="x"))
    assert (await web.post_form(f"/tasks/{own.id}/strategy/{note.id}/accept")).status_code == 404

    # Every route of the app that takes an id was tried (a new route must join this test).
    with_ids = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if "{" in route.path and method not in ("HEAD", "OPTIONS") and not route.path.startswith(("/static", "/vendor", "/schema"))
    }
    covered = {(m, _template_of(p, app)) for m, p in tried}
    assert with_ids - covered == set()


def _template_of(path: str, app) -> str:
    """The route template a concrete path matched (e.g. /tasks/{task_id:uuid})."""
    for route in app.routes:
        parts, pattern = path.split("/"), route.path.split("/")
        if len(parts) == len(pattern) and all(a == b or b.startswith("{") for a, b in zip(parts, pattern, strict=True)):
            return route.path
    return path


async def test_pages_need_a_session_and_the_api_a_caller(client_factory):
    web = await client_factory()
    response = await web.client.get("/tasks/new")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/tasks/new"
    response = await web.client.get("/api/tasks")
    assert response.status_code == 401 and response.json()["detail"]
    response = await web.client.get("/api/tasks", headers={"Authorization": "Bearer odk_not-a-token"})
    assert response.status_code == 401
    response = await web.client.get("/live")
    assert response.status_code == 303
