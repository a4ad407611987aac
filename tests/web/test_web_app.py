"""Accounts, sessions, CSRF, API tokens, the task form and its actions, and the JSON API."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from db import api_tokens, calls, campaigns, events, hitl, tasks, users
from db.models import TaskStatus
from db.tasks import TaskDraft
from tests.web.conftest import PASSWORD, make_world

TASK_FORM = {"phone_number": "+1 415 555 0123", "callee_name": "Smile Dental", "objective": "Move my cleaning",
             "max_attempts": "4", "schedule": "now"}


async def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_the_session(client_factory, make_account):
    user = await make_account()
    web = await client_factory()
    wrong = await web.client.post("/login", data={"email": user.email, "password": "nope", "_csrf_token": await web.csrf()})
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    response = await web.login(user)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("od_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = web.client.cookies["od_session"]
    assert (await web.client.get("/")).status_code == 200
    await web.post_form("/logout")
    replay = await client_factory()
    replay.client.cookies.set("od_session", token)
    assert (await replay.client.get("/")).status_code == 303  # the old cookie no longer signs in


async def test_the_cookie_is_secure_behind_https(client_factory, make_account):
    user = await make_account()
    web = await client_factory()
    csrf = await web.csrf()
    response = await web.client.post("/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": csrf},
                                     headers={"X-Forwarded-Proto": "https"})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("od_session="))
    assert "Secure" in cookie


async def test_forms_need_the_csrf_token_and_redirects_stay_on_site(signed_in, make_account, client_factory, pool):
    web, user = await signed_in()
    forged = await web.client.post("/tasks", data=TASK_FORM)
    assert forged.status_code == 403
    assert await tasks.list_tasks(pool, user.id) == []
    other = await make_account()
    fresh = await client_factory()
    response = await fresh.client.post("/login", data={"email": other.email, "password": PASSWORD, "next": "//evil.example/x",
                                                       "_csrf_token": await fresh.csrf()})
    assert response.headers["location"] == "/"


async def test_create_a_task_with_the_form_then_call_now_edit_and_cancel(signed_in, pool):
    web, user = await signed_in()
    response = await web.post_form("/tasks", TASK_FORM)
    assert response.status_code == 303
    [task] = await tasks.list_tasks(pool, user.id)
    assert (task.phone_number, task.status, task.max_attempts) == ("+14155550123", "scheduled", 4)
    assert response.headers["location"] == f"/tasks/{task.id}"

    # A calling window applied from a strategy note is not on the form: an edit keeps it.
    await pool.execute(
        """UPDATE tasks SET constraints = constraints || '{"window": {"start": "14:00", "end": "17:00"}}' WHERE id = $1""",
        task.id,
    )
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    edited = await web.post_form(f"/tasks/{task.id}/edit", {**TASK_FORM, "objective": "Move it to Friday", "earliest": later})
    assert edited.status_code == 303
    task = await tasks.get_task(pool, user.id, task.id)
    assert task.objective == "Move it to Friday" and task.constraints["earliest"].startswith(later[:10])
    assert task.constraints["window"] == {"start": "14:00", "end": "17:00"}

    before = datetime.now(UTC)
    assert (await web.post_form(f"/tasks/{task.id}/call-now")).status_code == 303
    task = await tasks.get_task(pool, user.id, task.id)
    assert task.status == "scheduled" and before <= task.next_attempt_at <= datetime.now(UTC)

    assert (await web.post_form(f"/tasks/{task.id}/cancel")).status_code == 303
    assert (await tasks.get_task(pool, user.id, task.id)).status == "cancelled"
    refused = await web.post_form(f"/tasks/{task.id}/edit", TASK_FORM)
    assert refused.status_code == 409 and "cancelled" in refused.text
    assert (await web.post_form(f"/tasks/{task.id}/call-now")).status_code == 409


async def test_the_form_sets_the_voicemail_policy_its_message_and_greeting_at_once(signed_in, pool):
    web, user = await signed_in()
    form = {**TASK_FORM, "voicemail": "leave_message", "machine_message": "Please call Anna back.", "greet_first": "true"}
    assert (await web.post_form("/tasks", form)).status_code == 303
    [task] = await tasks.list_tasks(pool, user.id)
    assert (task.voicemail, task.greet_first, task.constraints["machine_message"]) == (
        "leave_message", True, "Please call Anna back.")
    page = (await web.client.get(f"/tasks/{task.id}/edit")).text
    assert 'value="leave_message" checked' in page and 'name="greet_first" value="true" checked' in page
    assert (await web.post_form(f"/tasks/{task.id}/edit", {**TASK_FORM, "voicemail": "call_back_later"})).status_code == 303
    task = await tasks.get_task(pool, user.id, task.id)
    assert (task.voicemail, task.greet_first) == ("call_back_later", False)
    refused = await web.post_form("/tasks", {**TASK_FORM, "voicemail": "shout"})
    assert refused.status_code == 400 and "voicemail" in refused.text


async def test_a_draft_is_not_scheduled_until_call_now(signed_in, pool):
    web, user = await signed_in()
    await web.post_form("/tasks", {**TASK_FORM, "schedule": "draft"})
    [task] = await tasks.list_tasks(pool, user.id)
    assert task.status == "draft" and task.next_attempt_at is None
    await web.post_form(f"/tasks/{task.id}/call-now")
    assert (await tasks.get_task(pool, user.id, task.id)).status == "scheduled"


async def test_bad_task_input_is_refused_with_a_message_and_nothing_is_saved(signed_in, pool):
    web, user = await signed_in()
    cases = [
        ({"phone_number": "12"}, "is not a phone number"),
        ({"objective": "   "}, "objective: must not be empty"),
        ({"max_attempts": "many"}, "must be a whole number"),
        ({"max_attempts": "99"}, "between 1 and 50"),
        ({"latest": "2001-01-01T10:00"}, "must be in the future"),
        ({"earliest": "soon"}, "is not a date and time"),
        ({"callee_name": "x" * 201}, "at most 200"),
    ]
    for change, message in cases:
        response = await web.post_form("/tasks", {**TASK_FORM, **change})
        assert response.status_code == 400, change
        assert message in response.text, (change, message)
        assert 'value="Smile Dental"' in response.text or "callee_name" in change  # the form keeps what was typed
    assert await tasks.list_tasks(pool, user.id) == []


async def test_dashboard_filters_and_search(signed_in, pool):
    web, user = await signed_in()
    dentist = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", callee_name="Smile Dental",
                                                               objective="Move the cleaning"), schedule_at=datetime.now(UTC))
    await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550124", callee_name="Pizza Place", objective="Order"))
    page = await web.client.get("/", params={"q": "smile"})
    assert "Smile Dental" in page.text and "Pizza Place" not in page.text
    page = await web.client.get("/", params={"status": "draft"})
    assert "Pizza Place" in page.text and "Smile Dental" not in page.text
    rows = await web.client.get("/fragments/task-rows", params={"status": "scheduled"})
    assert f'data-task-id="{dentist.id}"' in rows.text and "Pizza Place" not in rows.text and "<html" not in rows.text
    assert (await web.client.get("/", params={"status": "nonsense"})).status_code == 400


async def test_api_tokens_are_shown_once_hashed_at_rest_and_needed_for_api_writes(signed_in, pool):
    web, user = await signed_in()
    created = await web.post_form("/tokens", {"name": "my script", "scope": "write"}, csrf_from="/tokens")
    assert created.status_code == 201
    secret = re.search(r'<pre class="secret">(odk_[^<]+)</pre>', created.text).group(1)
    assert secret not in (await web.client.get("/tokens")).text
    stored = await pool.fetchrow("SELECT * FROM api_tokens WHERE user_id = $1", user.id)
    assert secret.encode() not in bytes(stored["token_hash"]) and secret not in str(dict(stored))

    bearer = {"Authorization": f"Bearer {secret}"}
    made = await web.client.post("/api/tasks", json={"phone_number": "+14155550123", "objective": "Ask"}, headers=bearer)
    assert made.status_code == 201 and made.json()["status"] == "scheduled"
    assert (made.json()["voicemail"], made.json()["greet_first"]) == ("hang_up", False)
    machine = {"phone_number": "+14155550123", "objective": "Ask", "voicemail": "leave_message", "greet_first": True}
    made = await web.client.post("/api/tasks", json=machine, headers=bearer)
    assert made.status_code == 201 and (made.json()["voicemail"], made.json()["greet_first"]) == ("leave_message", True)
    by_cookie = await web.client.post("/api/tasks", json={"phone_number": "+14155550123", "objective": "Ask"})
    assert by_cookie.status_code == 403  # a browser session cannot write through the API (no CSRF there)
    assert (await web.client.get("/api/tasks")).status_code == 200  # but it can read
    [token] = await api_tokens.list_tokens(pool, user.id)
    assert token.last_used_at is not None
    await web.post_form(f"/tokens/{token.id}/revoke", csrf_from="/tokens")
    assert (await web.client.get("/api/tasks", headers=bearer)).status_code == 401


async def test_admin_creates_users_and_others_may_not(signed_in, client_factory):
    admin_web, _ = await signed_in(role="admin")
    user_web, _ = await signed_in()
    assert (await user_web.client.get("/admin/users")).status_code == 403
    assert (await user_web.post_form("/admin/users", {"email": "sneaky@example.test"})).status_code == 403
    response = await admin_web.post_form("/admin/users", {"email": "new.person@example.test", "display_name": "New",
                                                           "time_zone": "Europe/Berlin"}, csrf_from="/admin/users")
    assert response.status_code == 201
    password = re.search(r'<pre class="secret">([^<]+)</pre>', response.text).group(1)
    fresh = await client_factory()
    login = await fresh.client.post("/login", data={"email": "new.person@example.test", "password": password,
                                                    "_csrf_token": await fresh.csrf()})
    assert login.status_code == 303
    duplicate = await admin_web.post_form("/admin/users", {"email": "new.person@example.test"}, csrf_from="/admin/users")
    assert duplicate.status_code == 400 and "already exists" in duplicate.text


async def test_profile_is_saved_and_checked(signed_in, pool):
    web, user = await signed_in()
    bad = await web.post_form("/profile", {"display_name": "Ada", "time_zone": "Mars/Base", "callback_number": ""})
    assert bad.status_code == 400 and "is not a time zone" in bad.text
    ok = await web.post_form("/profile", {"display_name": "Ada", "time_zone": "Europe/Berlin", "callback_number": "+1 415 555 0100",
                                          "about": "Afternoons only", "agent_notes": "I am a patient there"})
    assert ok.status_code == 303
    saved = await users.get_user(pool, user.id)
    assert saved.display_name == "Ada" and saved.time_zone == "Europe/Berlin"
    assert saved.profile == {"callback_number": "+14155550100", "about": "Afternoons only", "agent_notes": "I am a patient there"}


async def test_bad_requests_get_clear_answers(signed_in, pool):
    web, user = await signed_in()
    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    bearer = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    malformed = await web.client.post("/api/tasks", content=b'{"phone_number": ', headers=bearer)
    assert malformed.status_code == 400 and malformed.json()["detail"]
    wrong_type = await web.client.post("/api/tasks", json={"phone_number": 5, "objective": "x"}, headers=bearer)
    assert wrong_type.status_code == 400 and "phone_number" in str(wrong_type.json())
    bad_number = await web.client.post("/api/tasks", json={"phone_number": "123", "objective": "x"}, headers=bearer)
    assert bad_number.status_code == 400 and bad_number.json()["field"] == "phone_number"
    huge = await web.client.post("/api/tasks", json={"phone_number": "+14155550123", "objective": "x" * 400_000}, headers=bearer)
    assert huge.status_code == 413
    huge_form = await web.post_form("/tasks", {**TASK_FORM, "facts": "x" * 400_000})
    assert huge_form.status_code == 413, huge_form.status_code
    assert (await web.client.get("/tasks/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await web.client.get("/api/tasks/00000000-0000-0000-0000-000000000000", headers=bearer)).status_code == 404
    assert (await web.client.get("/tasks/not-a-uuid")).status_code in (400, 404)
    assert await tasks.list_tasks(pool, user.id) == []


async def test_a_campaign_through_the_api_is_all_or_nothing(signed_in, pool):
    web, user = await signed_in()
    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    bearer = {"Authorization": f"Bearer {secret}"}
    body = {"title": "Dentists", "tasks": [{"phone_number": "+14155550123", "objective": "Ask"},
                                           {"phone_number": "+1 nope", "objective": "Ask"}]}
    refused = await web.client.post("/api/campaigns", json=body, headers=bearer)
    assert refused.status_code == 400
    assert await campaigns.list_campaigns(pool, user.id) == [] and await tasks.list_tasks(pool, user.id) == []
    body["tasks"][1]["phone_number"] = "+14155550124"
    made = await web.client.post("/api/campaigns", json=body, headers=bearer)
    assert made.status_code == 201 and len(made.json()["tasks"]) == 2
    listed = await web.client.get("/api/tasks", params={"campaign_id": made.json()["campaign"]["id"]}, headers=bearer)
    assert {t["phone_number"] for t in listed.json()} == {"+14155550123", "+14155550124"}


async def test_the_api_refuses_a_plan_whole_with_the_engine_checks_per_task(signed_in, pool):
    web, user = await signed_in()
    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    bearer = {"Authorization": f"Bearer {secret}"}
    body = {"title": "Dentists", "tasks": [
        {"phone_number": "+14155550123", "objective": "Ask"},
        {"phone_number": "+14155550124", "objective": "Ask", "constraints": {"window": {"start": "17:00", "end": "09:00"}}},
    ]}
    refused = await web.client.post("/api/campaigns", json=body, headers=bearer)
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (error["index"], error["task"], error["field"]) == (1, 2, "constraints.window")
    assert "after the start" in error["message"] and "task 2: constraints.window" in refused.json()["detail"]
    assert await campaigns.list_campaigns(pool, user.id) == [] and await tasks.list_tasks(pool, user.id) == []
    body["tasks"][1]["constraints"]["window"] = {"start": "09:00", "end": "17:00"}
    body["tasks"][1]["draft"] = True
    made = await web.client.post("/api/campaigns", json=body, headers=bearer)
    assert made.status_code == 201
    assert [t["status"] for t in made.json()["tasks"]] == ["scheduled", "draft"]


async def test_api_reads_calls_transcripts_events_and_answers_questions(signed_in, pool):
    web, user = await signed_in()
    world = await make_world(pool, user)
    secret = (await api_tokens.create_token(pool, user.id, "t", "write")).secret
    bearer = {"Authorization": f"Bearer {secret}"}
    call = (await web.client.get(f"/api/calls/{world.call.id}", headers=bearer)).json()
    assert call["outcome"] == "answered" and call["q850_cause"] == 16
    turns = (await web.client.get(f"/api/calls/{world.call.id}/transcript", headers=bearer)).json()
    assert [t["speaker"] for t in turns] == ["agent", "callee"]
    stasis = (await web.client.get(f"/api/calls/{world.call.id}/ari-events", params={"event_type": "StasisStart"}, headers=bearer)).json()
    assert [e["event_type"] for e in stasis] == ["StasisStart"]
    task_events = (await web.client.get(f"/api/tasks/{world.task.id}/events", headers=bearer)).json()
    assert task_events[0]["kind"] == "created"
    # The question's call has ended: the API says so and offers to keep the answer for the next call.
    late = await web.client.post(f"/api/hitl/{world.question.id}/answer", json={"answer": "Yes"}, headers=bearer)
    assert late.status_code == 409 and late.json()["extra"] == {"can_answer_for_next_call": True}
    answered = await web.client.post(
        f"/api/hitl/{world.question.id}/answer", json={"answer": "Yes", "for_next_call": True}, headers=bearer
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["outcome"] == "callback_scheduled"  # the task was waiting for this answer
    assert answered.json()["task_status"] == "scheduled"
    assert answered.json()["request"]["status"] == "answered"
    again = await web.client.post(f"/api/hitl/{world.question.id}/answer", json={"answer": "No"}, headers=bearer)
    assert again.status_code == 409 and "already answered" in again.json()["detail"]
    cancelled = await web.client.post(f"/api/tasks/{world.task.id}/cancel", headers=bearer)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == TaskStatus.CANCELLED


async def test_openapi_schema_lists_the_api(client_factory):
    web = await client_factory()
    schema = (await web.client.get("/schema/openapi.json")).json()
    for path in ("/api/campaigns", "/api/tasks", "/api/tasks/{task_id}", "/api/calls/{call_id}/transcript",
                 "/api/calls/{call_id}/ari-events", "/api/ari-events", "/api/hitl/{request_id}/answer"):
        assert path in schema["paths"], path
    assert not any(p.startswith(("/tasks", "/login", "/inbox")) for p in schema["paths"])


async def test_health_still_answers(client_factory):
    web = await client_factory()
    response = await web.client.get("/health")
    assert response.json()["database"]["ok"] is True


def test_timeline_messages_do_not_repeat_what_their_chips_say():
    from uuid import uuid4

    from db.models import CallEvent
    from web.rendering import _call_event_rows, _without_status

    assert _without_status("Succeeded: Cleaning moved to Tuesday at 3 pm", "succeeded") == "Cleaning moved to Tuesday at 3 pm"
    assert _without_status("Dialing (attempt 1 of 5)", "dialing") == "attempt 1 of 5"
    assert _without_status("Call answered", "in_call") == "Call answered"
    assert _without_status("Failedover to the backup line", "failed") == "Failedover to the backup line"
    assert _without_status("Task details edited", None) == "Task details edited"

    at = datetime.now(UTC)
    call_id = uuid4()

    def event(i: int, kind: str, message: str) -> CallEvent:
        return CallEvent(id=i, user_id=1, call_id=call_id, at=at + timedelta(seconds=i), kind=kind, message=message, data={})

    rows = _call_event_rows([
        event(1, "answered", "the callee answered"),
        event(2, "media_connected", "audio connected"),
        event(3, "answered", "the callee answered; the agent starts speaking"),
        event(4, "tool_call", "end_call done"),
        event(5, "tool_call", "end_call done"),
    ])
    assert [(kind, message) for _, kind, message in rows] == [
        ("answered", "the callee answered; the agent starts speaking"),
        ("media_connected", "audio connected"),
        ("tool_call", "end_call done"),
        ("tool_call", "end_call done"),
    ]
    assert rows[0][0] == at + timedelta(seconds=1)


async def _a_task_tried_while_its_real_call_asks(pool, user):
    """A task whose real attempt asked "Is Thursday 3pm fine?" and whose test call ("Try it") asks "Which
    afternoon suits Ada?": (world, test call, the test call's question)."""
    world = await make_world(pool, user)
    test_call = await calls.create_call(pool, user.id, world.task.id, attempt=1, node_id="n1", destination="browser",
                                        is_test=True)
    tried = await hitl.create_request(pool, user.id, world.task.id, call_id=test_call.id,
                                      question="Which afternoon suits Ada?", deadline=datetime.now(UTC) + timedelta(minutes=5))
    return world, test_call, tried


async def test_a_test_calls_question_is_in_the_inbox_and_on_the_test_call_not_on_the_tasks_timeline(signed_in, pool):
    """"Try it" asks the owner something: the inbox and the test call's page show it; the task's page shows
    the questions of its real attempts only (a test never becomes part of the task's story)."""
    web, user = await signed_in()
    world, test_call, _ = await _a_task_tried_while_its_real_call_asks(pool, user)
    for path in (f"/tasks/{world.task.id}", f"/fragments/tasks/{world.task.id}"):
        shown = (await web.client.get(path)).text
        timeline = shown.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
        assert "Is Thursday 3pm fine?" in timeline
        assert "Which afternoon suits Ada?" not in shown, path
    assert "Which afternoon suits Ada?" in (await web.client.get("/inbox")).text
    own_view = (await web.client.get(f"/calls/{test_call.id}")).text
    assert "Which afternoon suits Ada?" in own_view and "Is Thursday 3pm fine?" not in own_view
    real_call = (await web.client.get(f"/calls/{world.call.id}")).text
    assert "Is Thursday 3pm fine?" in real_call and "Which afternoon suits Ada?" not in real_call


async def test_the_inbox_says_a_question_comes_from_a_test_call_and_leads_to_that_test_call(signed_in, pool):
    """A test call's question (of a task or of a plan's proposed call) says in the inbox that a test call asks it
    and leads to the test call's own page, where the owner hears and talks to the agent: not to the task's page
    (which does not show it) nor to the call page's voice panel (which a test call has not). A real call's
    question keeps its links: join the call by voice, open the task."""
    from engine.agent.test_call import open_plan_test_call

    web, user = await signed_in()
    world, test_call, tried = await _a_task_tried_while_its_real_call_asks(pool, user)
    planned_call = await open_plan_test_call(
        pool, user.id, TaskDraft(phone_number="+14155550177", callee_name="Bright Smiles", objective="Book a checkup"),
        "n1", conversation_id=uuid4(), index=0)
    planned = await hitl.create_request(pool, user.id, planned_call.id, call_id=planned_call.id,
                                        question="Which morning suits Ada?", deadline=datetime.now(UTC) + timedelta(minutes=5))
    for path in ("/inbox", "/fragments/inbox"):
        shown = (await web.client.get(path)).text

        def card(question_id, shown=shown):
            return shown.split(f'data-question-id="{question_id}"', 1)[1].split("</section>", 1)[0]

        def links(question_id):
            return re.findall(r'<a[^>]* href="([^"]+)"[^>]*>([^<]+)</a>', card(question_id))

        real = card(world.question.id)
        assert "Test call" not in real and "Smile Dental" in real, path
        assert links(world.question.id) == [(f"/calls/{world.call.id}#owner-voice", "Answer by voice"),
                                            (f"/tasks/{world.task.id}", "Open the task")], path
        about = card(tried.id).split('class="question-about"', 1)[1].split("</p>", 1)[0]
        assert "Test call of" in about and "Smile Dental" in about, (path, about)
        assert links(tried.id) == [(f"/test-calls/{test_call.id}", "Open the test call")], path
        about = card(planned.id).split('class="question-about"', 1)[1].split("</p>", 1)[0]
        assert "Test of a planned call to" in about and "Bright Smiles" in about, (path, about)
        assert links(planned.id) == [(f"/test-calls/{planned_call.id}", "Open the test call")], path
    await hitl.answer_request(pool, user.id, tried.id, "Friday")  # among the earlier questions, it still says so
    earlier = (await web.client.get("/inbox")).text.split("<h2>Earlier questions</h2>", 1)[1]
    assert "Test call of Smile Dental:</span> <b>Which afternoon suits Ada?</b>" in earlier, earlier
    for call in (test_call, planned_call):  # where the links lead: the test call's page, with its Start button
        own_page = await web.client.get(f"/test-calls/{call.id}")
        assert own_page.status_code == 200 and 'id="test-call"' in own_page.text


async def test_a_campaign_downloads_as_csv_from_the_dashboard_and_the_task_page(signed_in, pool):
    from engine.tasks.campaigns import create_campaign_with_tasks

    web, user = await signed_in()
    campaign, [ada, _] = await create_campaign_with_tasks(
        pool, user.id, title="Dentists, Oakland", schedule_at=datetime.now(UTC),
        drafts=[TaskDraft(phone_number="+14155550123", objective="Book", callee_name="Dr. Ada"),
                TaskDraft(phone_number="+14155550124", objective='Say "hi", then <b>book</b>')],
    )
    link = f'href="/campaigns/{campaign.id}/export.csv"'
    assert link not in (await web.client.get("/")).text  # no campaign chosen
    assert link in (await web.client.get("/", params={"campaign": str(campaign.id)})).text
    assert link in (await web.client.get(f"/tasks/{ada.id}")).text
    response = await web.client.get(f"/campaigns/{campaign.id}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="dentists-oakland-{str(campaign.id)[:8]}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["callee_name"], r["phone_number"], r["objective"], r["status"]) for r in rows] == [
        ("Dr. Ada", "+14155550123", "Book", "scheduled"), ("", "+14155550124", 'Say "hi", then <b>book</b>', "scheduled")]


async def test_a_strategy_note_is_applied_from_the_task_timeline(signed_in, pool, client_factory):
    web, user = await signed_in()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="Book"),
                                   schedule_at=datetime.now(UTC))
    note = await events.add_task_event(
        pool, user.id, task.id, kind="strategy", actor="advisor", message="Mostly no answer in the morning. Accept to apply.",
        data={"suggestion": {"window": {"start": "15:00", "end": "18:00"}, "instructions": "Ask for the front desk."}},
    )
    plain = await events.add_task_event(pool, user.id, task.id, kind="note", message="Just a note")
    action = f'action="/tasks/{task.id}/strategy/{note.id}/accept"'
    page = await web.client.get(f"/tasks/{task.id}")
    assert action in page.text and "Apply this suggestion" in page.text
    assert f"/strategy/{plain.id}/accept" not in page.text
    forged = await web.client.post(f"/tasks/{task.id}/strategy/{note.id}/accept")
    assert forged.status_code == 403
    assert "window" not in (await tasks.get_task(pool, user.id, task.id)).constraints
    not_a_note = await web.post_form(f"/tasks/{task.id}/strategy/{plain.id}/accept")
    assert not_a_note.status_code == 404

    applied = await web.post_form(f"/tasks/{task.id}/strategy/{note.id}/accept", csrf_from=f"/tasks/{task.id}")
    assert applied.status_code == 303 and applied.headers["location"] == f"/tasks/{task.id}"
    task = await tasks.get_task(pool, user.id, task.id)
    assert task.constraints["window"] == {"start": "15:00", "end": "18:00"}
    assert task.context["strategy_instructions"] == "Ask for the front desk."
    page = await web.client.get(f"/tasks/{task.id}")
    assert action not in page.text and "strategy-applied" in page.text and "Strategy accepted" in page.text
