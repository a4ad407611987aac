"""Test calls: "Try it" on a task runs its agent with the owner's browser as the callee.

`POST /tasks/{id}/try` creates the test call (capped per user per day) and opens its page; a plan's
"Try it" (`POST /chat/{id}/try`, web/pages/chat.py) does the same for a proposed call, without a task;
the page opens `/ws/test-calls/{id}` with the token of `/calls/{id}/owner-token` (the same
checks as the owner's voice socket: Origin, sign-in, ownership, token, all before `accept()`).
On that socket: binary 20 ms μ-law frames both ways, paced by the server toward the page; the page
sends `{"command": "DTMF", "digit": "5"}` and `{"command": "HANGUP"}`, the server sends
`FLUSH_MEDIA` (barge-in), `DTMF_SENT` (keys the agent pressed), `HANGUP` (the agent hung up) and, last,
`ENDED` with the `detail` of why the test call is over (stored on the call too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from uuid import UUID

from litestar import Request, WebSocket, get, post, websocket
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from db import calls, tasks
from engine.agent.browser_call import BrowserCall
from engine.agent.runner import VoiceAgentRunner
from engine.agent.test_call import TestCallRefused, open_test_call, run_test_call, test_call_task
from engine.hitl import HitlService
from engine.lifecycle.call_log import DatabaseCallLog
from web.auth import current_user, db_pool, signed_in
from web.owner_audio import REFUSED, allowed
from web.rendering import page

log = logging.getLogger(__name__)


def agent_runner(node: Any) -> VoiceAgentRunner:
    """The node's voice agent for a test call: its model, settings, owner questions and call log."""
    hitl = next(c for c in node.components if isinstance(c, HitlService))
    call_log = next(c for c in node.components if isinstance(c, DatabaseCallLog))
    return VoiceAgentRunner(node.database.pool, node.voice.model, node.settings, hitl, call_log)


@post("/tasks/{task_id:uuid}/try", guards=[signed_in], include_in_schema=False)
async def try_task(request: Request, task_id: UUID) -> Redirect | Template:
    user, pool = current_user(request), db_pool(request)
    task = await tasks.get_task(pool, user.id, task_id)
    try:
        call = await open_test_call(pool, task, request.app.state.node.node_id)
    except TestCallRefused as exc:
        return await page(request, "error.html", status_code=429, title="No more test calls today", detail=str(exc))
    return Redirect(f"/test-calls/{call.id}", status_code=303)


@get("/test-calls/{call_id:uuid}", guards=[signed_in], include_in_schema=False)
async def test_call_page(request: Request, call_id: UUID) -> Template:
    user, pool = current_user(request), db_pool(request)
    call = await calls.get_call(pool, user.id, call_id)
    if not call.is_test:
        raise NotFoundException("No such test call.")
    task = await test_call_task(pool, call)
    return await page(request, "test_call.html", call=call, task=task, plan=call.test_draft)


@websocket("/ws/test-calls/{call_id:uuid}")
async def test_call_socket(socket: WebSocket, call_id: UUID) -> None:
    call_row = await allowed(socket, call_id)
    if call_row is None or not call_row.is_test or call_row.status != "dialing":
        await socket.close(code=REFUSED)
        return
    node = socket.app.state.node
    pool = node.database.pool
    task = await test_call_task(pool, call_row)
    await socket.accept()
    await socket.send_text(json.dumps({"event": "MEDIA_START", "format": "ulaw", "optimal_frame_size": 160, "ptime": 20}))

    async def send(item: bytes | str) -> None:
        if isinstance(item, bytes):
            await socket.send_bytes(item)
        else:
            await socket.send_text(item)

    call = BrowserCall(str(call_id), send)
    running = asyncio.create_task(
        run_test_call(pool, agent_runner(node), task, call_row, call), name=f"test-call-{call_id}"
    )
    reading = asyncio.create_task(_read(socket, call), name=f"test-call-reader-{call_id}")
    try:
        await asyncio.wait([running, reading], return_when=asyncio.FIRST_COMPLETED)
        if reading.done() and not reading.cancelled() and reading.exception() is None:
            call.ended(reading.result())  # the owner ended it, or left the page
        await asyncio.wait_for(asyncio.shield(running), 15)
    except Exception:  # noqa: BLE001 - the test call's own errors are logged, the page is closed below
        log.exception("test call %s failed", call_id)
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        with contextlib.suppress(Exception):
            await socket.close(code=1000)


async def _read(socket: WebSocket, call: BrowserCall) -> str:
    """Feed the page's audio and keys to the call until the owner ends it; returns why it ended."""
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return "the page was closed"
        if message.get("bytes"):
            call.media.received_audio(message["bytes"])
            continue
        try:
            command = json.loads(message.get("text") or "{}")
        except ValueError:
            continue
        if command.get("command") == "DTMF":
            call.media.received_dtmf(str(command.get("digit", "")))
        elif command.get("command") == "HANGUP":
            return "you ended it"


ROUTES = [try_task, test_call_page, test_call_socket]
