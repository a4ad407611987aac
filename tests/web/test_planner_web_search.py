"""The web search tool (Brave Search API) against a fake Brave server on a real socket, alone and in the planner."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from engine.planner.chat import ChatTurn, PlannerSettings, UserContext, build_planner
from engine.planner.tools.web_search import WebSearch
from tests.web.fakes import FakeBrave, FakeOpenAI, running

KEY = "brave-secret-key-123"


@pytest.fixture
async def brave():
    fake = FakeBrave()
    async with running(fake.routes()) as url:
        yield fake, url
        fake.released.set()  # a hanging handler ends, so the server stops at once


async def test_the_request_and_the_results_the_model_gets(brave, caplog):
    fake, url = brave
    caplog.set_level(logging.DEBUG)
    out = await WebSearch(KEY, url + "/").run({"query": "  Smile Dental Oakland opening hours "})

    [request] = fake.requests
    assert request["path"] == "/res/v1/web/search"
    assert request["query"] == {"q": "Smile Dental Oakland opening hours", "count": "5"}
    assert request["headers"]["X-Subscription-Token"] == KEY
    assert request["headers"]["Accept"] == "application/json"
    assert out == {"results": [
        {"title": "Smile Dental – Oakland", "url": "https://smiledental.example/",
         "snippet": "Call Smile Dental at +1 415-555-0142. We're open Tue 9–5 & Sat."},
        {"title": "Reviews", "url": "https://reviews.example/smile", "snippet": "4.8 stars"},
    ]}
    assert KEY not in caplog.text


async def test_at_most_five_results_and_long_snippets_are_cut(brave):
    fake, url = brave
    many = [{"title": f"r{i}", "url": f"https://r{i}.example/", "description": "word " * 200} for i in range(8)]
    fake.script.append({"web": {"results": many}})
    out = await WebSearch(KEY, url).run({"query": "x"})
    assert [r["title"] for r in out["results"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert all(len(r["snippet"]) <= 300 and r["snippet"].endswith("…") for r in out["results"])


async def test_no_web_results_is_an_empty_list(brave):
    fake, url = brave
    fake.script.append({"type": "search", "query": {"original": "x"}})
    assert await WebSearch(KEY, url).run({"query": "x"}) == {"results": []}


async def test_an_empty_query_asks_nothing(brave):
    fake, url = brave
    assert await WebSearch(KEY, url).run({"query": "   "}) == {"error": "query is empty"}
    assert fake.requests == []


@pytest.mark.parametrize("step, expected", [
    (429, "web search failed: HTTP 429"),
    (401, "web search failed: HTTP 401"),
    ("<html>bad gateway</html>", "web search failed: the search service's answer was not understood"),
    ({"web": {"results": "nope"}}, "web search failed: the search service's answer was not understood"),
    (["not", "an", "object"], "web search failed: the search service's answer was not understood"),
])
async def test_failures_come_back_as_a_short_error(brave, caplog, step, expected):
    fake, url = brave
    caplog.set_level(logging.DEBUG)
    fake.script.append(step)
    out = await WebSearch(KEY, url).run({"query": "x"})
    assert out == {"error": expected}
    assert KEY not in caplog.text


async def test_a_server_that_does_not_answer_times_out_as_an_error(brave, caplog):
    fake, url = brave
    caplog.set_level(logging.DEBUG)
    fake.script.append("hang")
    out = await WebSearch(KEY, url, timeout_s=0.3).run({"query": "x"})
    assert out == {"error": "web search failed: the search service did not answer in time"}
    assert len(fake.requests) == 1 and KEY not in caplog.text


async def test_an_unreachable_server_is_an_error():
    async with running(FakeBrave().routes()) as url:
        pass  # the port is closed again
    out = await WebSearch(KEY, url).run({"query": "x"})
    assert out == {"error": "web search failed: the search service could not be reached"}


# --- in the planner ---------------------------------------------------------------------


def _answer() -> dict:
    return {"message": "Smile Dental's number is +1 415-555-0142. What should I ask them?", "plan": None,
            "missing": ["objective"]}


async def _tools_offered(settings: PlannerSettings) -> list[str] | None:
    openai = FakeOpenAI()
    openai.reply_json(_answer())
    async with running(openai.routes()) as openai_url:
        planner = build_planner(openai_api_key="sk-test", openai_base_url=f"{openai_url}/v1", settings=settings)
        await planner.reply([ChatTurn(role="user", content="call Smile Dental")], UserContext())
    tools = openai.requests[0]["body"].get("tools")
    return None if tools is None else [t["function"]["name"] for t in tools]


async def test_the_tool_is_offered_only_with_a_key():
    base = {"planner_model": "test-planner", "_env_file": None}
    assert await _tools_offered(PlannerSettings(**base)) is None
    assert await _tools_offered(PlannerSettings(**base, google_places_api_key=SecretStr("p"))) == ["lookup_business"]
    assert await _tools_offered(PlannerSettings(**base, brave_search_api_key=SecretStr(KEY))) == ["web_search"]
    both = PlannerSettings(**base, google_places_api_key=SecretStr("p"), brave_search_api_key=SecretStr(KEY))
    assert await _tools_offered(both) == ["lookup_business", "web_search"]


def test_the_key_and_base_url_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENDEEP_BRAVE_SEARCH_API_KEY", KEY)
    monkeypatch.setenv("OPENDEEP_BRAVE_SEARCH_BASE_URL", "http://127.0.0.1:9")
    settings = PlannerSettings(_env_file=None)
    assert settings.brave_search_api_key.get_secret_value() == KEY and KEY not in repr(settings)
    assert settings.brave_search_base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("failure", [None, 503])
async def test_the_model_searches_and_reads_the_results_or_the_error(brave, caplog, failure):
    fake, brave_url = brave
    caplog.set_level(logging.DEBUG)
    if failure:
        fake.script.append(failure)
    openai = FakeOpenAI()
    openai.call_tool("web_search", {"query": "Smile Dental Oakland phone"}, call_id="call_ws")
    openai.reply_json(_answer())
    async with running(openai.routes()) as openai_url:
        planner = build_planner(openai_api_key="sk-test", openai_base_url=f"{openai_url}/v1", settings=PlannerSettings(
            _env_file=None, planner_model="test-planner", brave_search_api_key=SecretStr(KEY), brave_search_base_url=brave_url))
        reply = await planner.reply([ChatTurn(role="user", content="call Smile Dental in Oakland")], UserContext())

    assert reply.message.startswith("Smile Dental's number") and reply.plan is None
    assert fake.requests[0]["query"]["q"] == "Smile Dental Oakland phone"
    assert len(openai.requests) == 2
    tool_message = openai.requests[1]["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_ws"
    content = json.loads(tool_message["content"])
    if failure:
        assert content == {"error": "web search failed: HTTP 503"}
    else:
        assert content["results"][0] == {"title": "Smile Dental – Oakland", "url": "https://smiledental.example/",
                                         "snippet": "Call Smile Dental at +1 415-555-0142. We're open Tue 9–5 & Sat."}
    assert all(KEY not in json.dumps(r["body"]) for r in openai.requests)
    assert KEY not in caplog.text
