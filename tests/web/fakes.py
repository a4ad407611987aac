"""Small fake services on real sockets: an OpenAI chat-completions server and a Places server."""

from __future__ import annotations

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
