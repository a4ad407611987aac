"""The process log (engine/app/logs.py) never prints the owner-audio socket's token: uvicorn logs every
WebSocket handshake and HTTP request with its query string, where the pages carry that token."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from engine.app.logs import configure_logging
from tests.test_logging import restore_logging  # noqa: F401 (a fixture)
from tests.web.conftest import serving

TOKEN = "1900000000.5f2b7c0ffee4a1d9e8c3b6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b"


async def test_the_owner_audio_token_of_a_websocket_url_never_reaches_the_log(app, restore_logging):  # noqa: F811
    printed = io.StringIO()
    configure_logging("INFO", stream=printed)
    async with serving(app, log_config=None, log_level="info") as url:
        for path in (f"/ws/test-calls/{uuid.uuid4()}", f"/ws/calls/{uuid.uuid4()}/owner"):
            socket_url = url.replace("http://", "ws://") + f"{path}?token={TOKEN}&format=ulaw"
            with pytest.raises(InvalidStatus):  # not signed in: refused before accept()
                async with connect(socket_url, origin=url):
                    pass
        async with httpx.AsyncClient(base_url=url) as client:
            await client.get(f"/health?token={TOKEN}")
    log = printed.getvalue()
    assert "/ws/test-calls/" in log and "/owner" in log and "/health" in log, log  # the requests were logged
    assert TOKEN not in log and TOKEN.split(".")[1] not in log, log
    assert "token=[redacted]&format=ulaw" in log, log  # the rest of the query string stays readable
