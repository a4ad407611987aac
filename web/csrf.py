"""Cross-site request forgery protection, bound to the sign-in session.

Every form carries `_csrf_token` = HMAC(secret, the browser's session token),
so a token is good only for the session it was rendered in, and signing in
(a new session) rotates it. Before a session exists (the sign-in form) the
token is bound to a random pre-session cookie instead. Unsafe requests must
also come from this site: an `Origin` (or, without one, `Referer`) of another
site is refused. The JSON API is exempt: its writes need a bearer token, which
a browser never sends by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from litestar import Request
from litestar.datastructures import Cookie
from litestar.utils.scope.state import ScopeState
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.auth import SESSION_COOKIE

FIELD = "_csrf_token"
HEADER = b"x-csrftoken"
PRESESSION_COOKIE = "od_presession"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT = re.compile(r"^/api/|^/health$|^/metrics$")
MAX_FORM_BYTES = 1024 * 1024  # a form bigger than this is refused by the app's own body limit anyway


def token_for(secret: bytes, binding: str) -> str:
    return hmac.new(secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def expected_origin(scope: Scope) -> str:
    """This site as a browser names it: scheme (after trusted proxies) and the Host header."""
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class CsrfMiddleware:
    """ASGI middleware: gives the pages their token (Litestar's `csrf_input` in templates), checks unsafe requests."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request: Request = Request(scope)
        binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE) or ""
        new_presession = ""
        if not binding:
            binding = new_presession = secrets.token_urlsafe(24)
        ScopeState.from_scope(scope).csrf_token = token_for(self.secret, binding)  # templates render it as csrf_input
        if scope["method"] in UNSAFE and not EXEMPT.search(scope["path"]):
            refusal, receive = await self._check(scope, receive)
            if refusal:
                await _refuse(send, refusal)
                return
        if new_presession:
            send = _setting_cookie(send, scope, new_presession)
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> tuple[str, Receive]:
        headers = dict(scope["headers"])
        claimed = headers.get(b"origin", b"").decode("latin-1") or _origin_of(headers.get(b"referer", b"").decode("latin-1"))
        if claimed and claimed != expected_origin(scope):
            return "This request came from another site and was refused.", receive
        sent = headers.get(HEADER, b"").decode("latin-1")
        if not sent:
            body, receive = await _read_body(receive)
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if content_type.startswith("application/x-www-form-urlencoded"):
                sent = parse_qs(body.decode("latin-1")).get(FIELD, [""])[0]
        if not sent or not hmac.compare_digest(sent, ScopeState.from_scope(scope).csrf_token or ""):
            return "The form had expired. Reload the page and try again.", receive
        return "", receive


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (up to MAX_FORM_BYTES), and a `receive` that hands it to the app again."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False) and size <= MAX_FORM_BYTES
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(send: Send, detail: str) -> None:
    body = detail.encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _setting_cookie(send: Send, scope: Scope, value: str) -> Send:
    cookie = Cookie(key=PRESESSION_COOKIE, value=value, httponly=True, samesite="lax", path="/",
                    secure=scope.get("scheme") == "https")
    header = cookie.to_header(header="").strip().encode("latin-1")

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", header)]}
        await send(message)

    return sending
