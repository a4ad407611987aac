"""The owner's voice on a live call: a token for the page, and the browser's audio socket.

`GET /calls/{id}/owner-token` (the page's session, the call's owner) returns a token bound to
the sign-in session, the user and the call, valid 120 s. `/ws/calls/{id}/owner` opens only if
the `Origin` is this site, the session cookie is a live sign-in of the call's owner and the
token matches; all are checked before `accept()`, so anyone else gets HTTP 403. Then the socket
carries what chan_websocket carries: binary 20 ms μ-law frames both ways (the call to the page,
the microphone to the call, which the telephony adapter only lets through while the owner
talks), and JSON text: the page sends `{"command": "TALK" | "HAND_BACK" | "LEAVE"}`, the server
sends `MEDIA_START`, `STATE` and `FLUSH_MEDIA` (the page drops queued audio when the owner takes over).
Closing the socket leaves the call; the call goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from uuid import UUID

from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import NotFoundException, WebSocketDisconnect

from db import calls, sessions
from db.errors import NotFound
from db.models import Call
from web.auth import SESSION_COOKIE, current_user, db_pool, signed_in
from web.csrf import expected_origin

log = logging.getLogger(__name__)
TOKEN_TTL_S = 120
REFUSED = 4403


def owner_token(secret: bytes, session_token: str, user_id: int, call_id: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TOKEN_TTL_S
    return f"{expires}.{_sign(secret, session_token, user_id, call_id, expires)}"


def token_ok(secret: bytes, session_token: str, user_id: int, call_id: str, token: str) -> bool:
    expires, _, signature = token.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature, _sign(secret, session_token, user_id, call_id, int(expires)))


def _sign(secret: bytes, session_token: str, user_id: int, call_id: str, expires: int) -> str:
    message = f"owner-voice|{session_token}|{user_id}|{call_id}|{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _secret(app_state: Any) -> bytes:
    return app_state.owner_voice_secret


@get("/calls/{call_id:uuid}/owner-token", guards=[signed_in], include_in_schema=False)
async def owner_token_endpoint(request: Request, call_id: UUID) -> dict[str, str]:
    user = current_user(request)
    call = await calls.get_call(db_pool(request), user.id, call_id)  # 404 unless it is this user's call
    if call.ended_at is not None:
        raise NotFoundException("This call has ended.")
    session_token = request.cookies.get(SESSION_COOKIE, "")
    return {"token": owner_token(_secret(request.app.state), session_token, user.id, str(call_id)), "format": "ulaw"}


async def allowed(socket: WebSocket, call_id: UUID) -> Call | None:
    """The live call, if the socket's Origin, sign-in, ownership and token all check out."""
    state = socket.app.state
    site = expected_origin(socket.scope).replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    if socket.headers.get("origin") != site:  # WebSocket scopes name their scheme ws/wss
        log.info("owner socket refused: origin %r", socket.headers.get("origin"))
        return None
    session_token = socket.cookies.get(SESSION_COOKIE, "")
    pool = state.node.database.pool
    user = await sessions.user_of_session(pool, session_token, idle_timeout=state.session_idle_timeout)
    if user is None or user.must_change_password:
        log.info("owner socket refused: no live sign-in")
        return None
    try:
        call = await calls.get_call(pool, user.id, call_id)
    except NotFound:
        return None
    if call.user_id != user.id or call.ended_at is not None:
        return None
    if not token_ok(_secret(state), session_token, user.id, str(call_id), socket.query_params.get("token", "")):
        log.info("owner socket refused: bad token")
        return None
    return call


@websocket("/ws/calls/{call_id:uuid}/owner")
async def owner_socket(socket: WebSocket, call_id: UUID) -> None:
    call = await allowed(socket, call_id)
    if call is None or call.is_test:
        await socket.close(code=REFUSED)  # before accept(): the browser's handshake fails with 403
        return
    telephony = socket.app.state.node.telephony
    await socket.accept()
    try:
        leg = await telephony.join_owner(str(call_id))
    except (LookupError, AttributeError, OSError, TimeoutError) as exc:
        log.warning("owner could not join call %s: %s", call_id, exc)
        await socket.send_text(json.dumps({"event": "ERROR", "error_text": "The call is not live on this node."}))
        await socket.close(code=1011)
        return
    await _relay(socket, leg)


async def _relay(socket: WebSocket, leg: Any) -> None:
    start = {"event": "MEDIA_START", "format": str(leg.format), "optimal_frame_size": 160, "ptime": 20}
    await socket.send_text(json.dumps(start))
    await socket.send_text(json.dumps({"event": "STATE", "talking": False}))

    async def call_to_page() -> None:
        async for frame in leg.audio():
            await socket.send_bytes(frame)

    async def page_to_call() -> None:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                await leg.send_audio(message["bytes"])
                continue
            command = _command(message.get("text"))
            if command == "TALK":
                await socket.send_text(json.dumps({"command": "FLUSH_MEDIA"}))
                await leg.talk()
            elif command == "HAND_BACK":
                await leg.hand_back()
            elif command == "LEAVE":
                return
            else:
                continue
            await socket.send_text(json.dumps({"event": "STATE", "talking": leg.talking}))

    tasks = [asyncio.create_task(call_to_page(), name="owner-call-to-page"),
             asyncio.create_task(page_to_call(), name="owner-page-to-call")]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await leg.leave()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, Exception):
            await socket.close(code=1000)


def _command(text: str | None) -> str:
    try:
        return str(json.loads(text or "{}").get("command", ""))
    except (ValueError, AttributeError):
        return ""


ROUTES = [owner_token_endpoint, owner_socket]
