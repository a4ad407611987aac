"""The chat planner: with a fake OpenAI server (real socket) and without any model."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from db import calls, campaigns, chats, tasks
from engine.agent.test_call import TEST_CALLS_PER_DAY
from engine.planner.chat import ChatTurn, PlannerSettings, RulePlanner, UserContext, build_planner
from tests.web.conftest import Browserless, serving
from tests.web.fakes import FakeOpenAI, FakePlaces, running


@pytest.fixture
async def model_site(make_app, make_account):
    """The app wired to a planner that talks to the fake OpenAI server, with the Places tool."""
    openai, places = FakeOpenAI(), FakePlaces()
    async with running(openai.routes()) as openai_url, running(places.routes()) as places_url:
        planner = build_planner(openai_api_key="sk-test", openai_base_url=f"{openai_url}/v1", settings=PlannerSettings(
            planner_model="test-planner", google_places_api_key=SecretStr("places-key"), google_places_base_url=places_url))
        async with serving(make_app(planner)) as url:
            yield url, openai, places


def _future(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _plan(number: str, earliest: str | None) -> dict:
    return {"message": "Here is the plan.", "missing": [], "plan": {"title": "Dentist", "calls": [{
        "phone_number": number, "callee_name": "Smile Dental", "objective": "Move the cleaning to Tuesday after 2pm",
        "facts": "Patient: Ada Lovelace", "success_criteria": "A confirmed slot", "earliest": earliest,
        "latest": None, "max_attempts": 3, "notes": "Only afternoons"}]}}


async def test_the_model_asks_for_what_is_missing_then_plans_and_the_plan_is_confirmed(model_site, make_account, pool):
    url, openai, places = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    saved = await web.post_form("/profile", {"display_name": "Ada", "time_zone": "Europe/Berlin",
                                             "callback_number": "+14155550100", "about": "Prefers afternoons"})
    assert saved.status_code == 303

    openai.call_tool("lookup_business", {"query": "Smile Dental Oakland"})
    openai.reply_json({"message": "Which day would suit you?", "plan": None, "missing": ["preferred day"]})
    first = await web.post_form("/chat/messages", {"message": "Call Smile Dental in Oakland and move my cleaning"}, csrf_from="/chat")
    assert first.status_code == 303
    page = await web.client.get(first.headers["location"])
    assert "Which day would suit you?" in page.text and "Confirm and schedule" not in page.text

    request = openai.requests[0]["body"]
    assert openai.requests[0]["authorization"] == "Bearer sk-test"
    assert request["model"] == "test-planner"
    assert request["response_format"]["type"] == "json_schema" and request["response_format"]["json_schema"]["strict"]
    assert [t["function"]["name"] for t in request["tools"]] == ["lookup_business"]
    assert "+14155550100" in request["messages"][0]["content"]  # the profile: it need not ask for the callback number
    assert "Europe/Berlin" in request["messages"][0]["content"]
    assert places.requests[0]["key"] == "places-key" and places.requests[0]["body"]["textQuery"] == "Smile Dental Oakland"
    tool_message = openai.requests[1]["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and "+1 415-555-0142" in tool_message["content"]

    openai.reply_json(_plan("+1 415-555-0142", _future(20)))
    conversation_path = first.headers["location"]
    second = await web.post_form(f"{conversation_path}/messages", {"message": "Tuesday after 2pm"}, csrf_from=conversation_path)
    assert second.status_code == 303
    page = await web.client.get(conversation_path)
    assert "Confirm and schedule" in page.text
    history = openai.requests[2]["body"]["messages"]
    assert [m["role"] for m in history[1:]] == ["user", "assistant", "user"]

    form = {name: value for name, value in re.findall(r'name="(calls-0-[a-z_]+|title|count)" value="([^"]*)"', page.text)}
    form.pop("calls-0-remove")  # the checkbox's value, not a checked box
    form["calls-0-objective"] = "Move the cleaning to Tuesday after 2pm"
    form["calls-0-facts"] = "Patient: Ada Lovelace"
    confirmed = await web.post_form(f"{conversation_path}/confirm", form, csrf_from=conversation_path)
    assert confirmed.status_code == 303, confirmed.text
    [campaign] = await campaigns.list_campaigns(pool, user.id)
    [task] = await tasks.list_tasks(pool, user.id, campaign_id=campaign.id)
    assert campaign.title == "Dentist" and "move my cleaning" in campaign.request
    assert task.phone_number == "+14155550142" and task.status == "scheduled" and task.max_attempts == 3
    assert task.next_attempt_at > datetime.now(UTC) + timedelta(hours=19)
    assert task.constraints["notes"] == "Only afternoons"
    again = await web.post_form(f"{conversation_path}/confirm", form, csrf_from=conversation_path)
    assert again.status_code == 400 and len(await campaigns.list_campaigns(pool, user.id)) == 1
    await web.client.aclose()


async def test_a_bad_plan_is_refused_per_call_and_nothing_is_saved(model_site, make_account, pool):
    url, openai, _ = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    openai.reply_json(_plan("+14155550142", _future(5)))
    sent = await web.post_form("/chat/messages", {"message": "Call my dentist"}, csrf_from="/chat")
    path = sent.headers["location"]
    base = {"count": "2", "title": "Two calls", "calls-0-phone_number": "+14155550142", "calls-0-objective": "ok",
            "calls-0-max_attempts": "3", "calls-1-phone_number": "not a number", "calls-1-objective": "bad", "calls-1-max_attempts": "3"}
    refused = await web.post_form(f"{path}/confirm", base, csrf_from=path)
    assert refused.status_code == 400
    assert "is not a phone number" in refused.text and "Call 2" in refused.text
    past = {**base, "calls-1-phone_number": "+14155550143", "calls-1-earliest": "2001-01-01T10:00"}
    refused = await web.post_form(f"{path}/confirm", past, csrf_from=path)
    assert refused.status_code == 400 and "must be in the future" in refused.text
    assert await campaigns.list_campaigns(pool, user.id) == [] and await tasks.list_tasks(pool, user.id) == []
    removed = {**past, "calls-1-remove": "1"}
    accepted = await web.post_form(f"{path}/confirm", removed, csrf_from=path)
    assert accepted.status_code == 303
    assert [t.phone_number for t in await tasks.list_tasks(pool, user.id)] == ["+14155550142"]
    await web.client.aclose()


async def test_the_engine_checks_refuse_the_confirmed_plan_whole_and_name_the_call(model_site, make_account, pool,
                                                                                     monkeypatch):
    """The review page goes through the engine's plan checks: one bad task, nothing saved, the error at that call."""
    import engine.tasks.campaigns
    from engine.tasks.calling_window import ConstraintError

    def strict(constraints: dict) -> None:  # a policy stricter than the planner's own checks
        if constraints.get("notes") == "mornings <script>":
            raise ConstraintError("window: the end (09:00) must be after the start (17:00)")

    monkeypatch.setattr(engine.tasks.campaigns, "check_constraints", strict)
    url, openai, _ = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    openai.reply_json(_plan("+14155550142", _future(5)))
    sent = await web.post_form("/chat/messages", {"message": "Call my dentists"}, csrf_from="/chat")
    path = sent.headers["location"]
    form = {"count": "2", "title": "Two calls", "calls-0-phone_number": "+14155550142", "calls-0-objective": "ok",
            "calls-0-max_attempts": "3", "calls-1-phone_number": "+14155550143", "calls-1-objective": "ok",
            "calls-1-max_attempts": "3", "calls-1-notes": "mornings <script>"}
    refused = await web.post_form(f"{path}/confirm", form, csrf_from=path)
    assert refused.status_code == 400
    second = refused.text.split("<legend>Call 2</legend>")[1].split("</fieldset>")[0]
    assert "constraints.window: the end (09:00) must be after the start (17:00)" in second
    assert "must be after" not in refused.text.split("<legend>Call 2</legend>")[0]
    assert "mornings &lt;script&gt;" in refused.text and "mornings <script>" not in refused.text
    assert await campaigns.list_campaigns(pool, user.id) == [] and await tasks.list_tasks(pool, user.id) == []
    conversation = await chats.get_conversation(pool, user.id, uuid.UUID(path.rsplit("/", 1)[1]))
    assert conversation.campaign_id is None
    form["calls-1-notes"] = "mornings"
    accepted = await web.post_form(f"{path}/confirm", form, csrf_from=path)
    assert accepted.status_code == 303
    [campaign] = await campaigns.list_campaigns(pool, user.id)
    assert len(await tasks.list_tasks(pool, user.id, campaign_id=campaign.id)) == 2
    assert (await chats.get_conversation(pool, user.id, conversation.id)).campaign_id == campaign.id
    await web.client.aclose()


async def test_a_failing_model_saves_nothing_and_says_so(model_site, make_account, pool):
    url, openai, _ = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    openai.fail(400)
    response = await web.post_form("/chat/messages", {"message": "Call my dentist"}, csrf_from="/chat")
    assert response.status_code == 502 and "the assistant is unavailable" in response.text
    assert "Call my dentist" in response.text  # kept in the box to send again
    assert await chats.latest_conversation(pool, user.id) is None
    await web.client.aclose()


async def test_without_a_model_the_rules_ask_for_a_number_then_plan():
    planner = RulePlanner()
    context = UserContext()
    asked = await planner.reply([ChatTurn(role="user", content="call my dentist")], context)
    assert asked.plan is None and asked.missing == ["phone_number"]
    planned = await planner.reply([ChatTurn(role="user", content="call my dentist at +1 415 555 0123 about Tuesday")], context)
    assert [c.phone_number for c in planned.plan.calls] == ["+14155550123"]


def test_no_key_means_no_model():
    assert build_planner(openai_api_key=None, openai_base_url=None).name == "rules"


async def test_a_planned_call_can_name_its_voice_provider(model_site, make_account, pool):
    url, openai, _ = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    plan = _plan("+14155550142", None)
    plan["plan"]["calls"][0]["voice_provider"] = "live"
    openai.reply_json(plan)
    sent = await web.post_form("/chat/messages", {"message": "Call my dentist, use GPT-Live"}, csrf_from="/chat")
    path = sent.headers["location"]
    schema = openai.requests[0]["body"]["response_format"]["json_schema"]["schema"]
    assert '"voice_provider"' in json.dumps(schema)  # the model may fill it in when the user names a provider
    page = (await web.client.get(path)).text
    assert '<option value="live" selected>' in page
    form = {"count": "1", "title": "Dentist", "calls-0-phone_number": "+14155550142", "calls-0-objective": "Move it",
            "calls-0-max_attempts": "3", "calls-0-voice_provider": "live"}
    assert (await web.post_form(f"{path}/confirm", form, csrf_from=path)).status_code == 303
    [task] = await tasks.list_tasks(pool, user.id)
    assert task.voice_provider == "live"
    await web.client.aclose()


async def test_try_a_planned_call_opens_a_test_call_without_a_task_within_the_daily_cap(model_site, make_account, pool):
    url, openai, _ = model_site
    user = await make_account()
    web = Browserless(httpx.AsyncClient(base_url=url, timeout=20))
    await web.login(user)
    openai.reply_json(_plan("+1 415-555-0142", _future(20)))
    first = await web.post_form("/chat/messages", {"message": "Call Smile Dental and move my cleaning"}, csrf_from="/chat")
    path = first.headers["location"]
    page = await web.client.get(path)
    assert 'formaction="/chat/' in page.text and ">Try it</button>" in page.text
    form = {name: value for name, value in re.findall(r'name="(calls-0-[a-z_]+|title|count)" value="([^"]*)"', page.text)}
    form.pop("calls-0-remove")
    form |= {"calls-0-objective": "Move the cleaning to Tuesday after 2pm", "try": "0"}

    bad = await web.post_form(f"{path}/try", {**form, "calls-0-phone_number": "+1 415"}, csrf_from=path)
    assert bad.status_code == 400 and "Call 1" in bad.text and "phone" in bad.text
    assert await calls.count_recent_test_calls(pool, user.id) == 0

    tried = await web.post_form(f"{path}/try", form, csrf_from=path)
    assert tried.status_code == 303 and tried.headers["location"].startswith("/test-calls/"), tried.text
    test_page = await web.client.get(tried.headers["location"])
    assert test_page.status_code == 200 and "Start test call" in test_page.text and "no task is created" in test_page.text
    [call] = await calls.list_calls(pool, user.id, tests=True)
    assert call.is_test and call.task_id is None and call.status == "dialing"
    assert call.test_draft["task"]["phone_number"] == "+14155550142"
    assert call.test_draft["task"]["objective"] == "Move the cleaning to Tuesday after 2pm"
    assert await tasks.list_tasks(pool, user.id) == [] and await campaigns.list_campaigns(pool, user.id) == []

    for _ in range(TEST_CALLS_PER_DAY - 1):  # the same daily allowance as a task's "Try it"
        await calls.create_plan_test_call(pool, user.id, node_id="", draft=call.test_draft)
    refused = await web.post_form(f"{path}/try", form, csrf_from=path)
    assert refused.status_code == 429 and "20 test calls" in refused.text
    assert len(await calls.list_calls(pool, user.id, tests=True)) == TEST_CALLS_PER_DAY
    await web.client.aclose()
