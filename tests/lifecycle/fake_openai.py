"""A minimal OpenAI server on a real socket (HTTP/1.1, one response per connection): chat completions,
and `GET /v1/models/{id}` answered by the API key (401 for a key it does not know)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeOpenAI:
    """Answers each POST .../chat/completions with the next scripted reply: (status, content), and
    GET .../models/{id} with the model for a key in `api_keys` (None: any key), 401 otherwise."""

    replies: list[tuple[int, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_keys: set[str] | None = None
    _server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/v1"

    async def __aenter__(self) -> FakeOpenAI:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            method, path = lines[0].split(" ")[:2]
            self.requests.append({"method": method, "path": path, "json": json.loads(body or b"{}")})
            if method == "GET" and "/models/" in path:
                status, payload = self._model(path.rsplit("/", 1)[1], headers.get("authorization", ""))
            else:
                status, content = self.replies.pop(0) if self.replies else (500, "no reply scripted")
                payload = json.dumps(_completion(content) if status == 200 else {"error": {"message": content}})
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n"
                f"connection: close\r\n\r\n{payload}".encode()
            )
            await writer.drain()
        finally:
            writer.close()


    def _model(self, model: str, authorization: str) -> tuple[int, str]:
        key = authorization.removeprefix("Bearer ").strip()
        if self.api_keys is not None and key not in self.api_keys:
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                     "code": "invalid_api_key"}
            return 401, json.dumps({"error": error})
        return 200, json.dumps({"id": model, "object": "model", "created": 0, "owned_by": "system"})


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": None}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
