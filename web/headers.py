"""Security headers on every response.

Pages run only the site's own script and styles (no inline script), may not be
framed by anyone, and are never stored by a browser or proxy cache: several
show secrets once (a new API token, a one-time password). Static files keep
normal caching. The API reference (/schema) renders with the documentation
package's own inline bootstrap, so it gets a policy of its own.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SCHEMA_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), geolocation=(), payment=()"),
]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    policy = SCHEMA_POLICY if path == "/schema" or path.startswith("/schema/") else PAGE_POLICY
    found = [*COMMON, (b"content-security-policy", policy.encode())]
    if not path.startswith("/static/"):
        found.append((b"cache-control", b"no-store"))
    return found


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])
        names = {name for name, _ in extra}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, sending)
