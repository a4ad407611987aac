"""Small fake services on real sockets: an OpenAI chat-completions server, a Places server and a Brave Search server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


class FakeOpenAI:
    """Answers POST /v1/chat/completions from a script; records every request body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[dict[str, Any] | int] = []  # a message dict, or an HTTP status to fail with

    def reply_json(self, payload: dict[str, Any]) -> None:
        self.script.append({"role": "assistant", "content": json.dumps(payload)})

    def call_tool(self, name: str, arguments: dict[str, Any], call_id: str = "call_1") -> None:
        self.script.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]})

    def fail(self, status: int) -> None:
        self.script.append(status)

    async def _completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"body": body, "authorization": request.headers.get("Authorization")})
        step = self.script.pop(0)
        if isinstance(step, int):
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error"}}, status=step)
        finish = "tool_calls" if step.get("tool_calls") else "stop"
        return web.json_response({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": step, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/chat/completions", self._completions)]


class FakePlaces:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def _search(self, request: web.Request) -> web.Response:
        self.requests.append({"body": await request.json(), "key": request.headers.get("X-Goog-Api-Key"),
                              "fields": request.headers.get("X-Goog-FieldMask")})
        return web.json_response({"places": [{
            "displayName": {"text": "Smile Dental"}, "formattedAddress": "1 Main St, Oakland, CA",
            "internationalPhoneNumber": "+1 415-555-0142",
            "regularOpeningHours": {"weekdayDescriptions": ["Tuesday: 9:00 AM – 5:00 PM"]},
        }]})

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/places:searchText", self._search)]


@asynccontextmanager
async def running(routes: list[web.RouteDef]) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class FakeBrave:
    """Answers GET /res/v1/web/search like the Brave Search API; records every request.

    `script` holds what to answer next: a dict (sent as JSON), an int (that HTTP status with an
    error body), a str (sent as text/plain), or "hang" (no answer until `released` is set).
    Without a script it answers with two results whose titles and snippets carry HTML.
    """

    RESULTS = [
        {"title": "Smile <strong>Dental</strong> – Oakland", "url": "https://smiledental.example/",
         "description": "Call <strong>Smile Dental</strong> at +1 415-555-0142. We&#x27;re open Tue&nbsp;9&ndash;5 &amp; Sat."},
        {"title": "Reviews", "url": "https://reviews.example/smile", "description": "<b>4.8</b> stars"},
    ]

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[dict[str, Any] | int | str] = []
        self.released = asyncio.Event()

    async def _search(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"path": request.path, "query": dict(request.query), "headers": dict(request.headers)})
        step = self.script.pop(0) if self.script else {"type": "search", "web": {"type": "search", "results": self.RESULTS}}
        if step == "hang":
            await self.released.wait()  # the client's timeout gives up first
            step = 504
        if isinstance(step, int):
            return web.json_response({"type": "ErrorResponse", "error": {"detail": "scripted failure"}}, status=step)
        if isinstance(step, str):
            return web.Response(text=step, content_type="text/plain")
        return web.json_response(step)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/res/v1/web/search", self._search)]
