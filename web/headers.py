"""Security headers on every response.

Pages run only the site's own script and styles (no inline script), may not be
framed by anyone, and are never stored by a browser or proxy cache: several
show secrets once (a new API token, a one-time password). Static files keep
normal caching. The API reference (/schema) renders with the documentation
package's own inline bootstrap, so it gets a policy of its own.
"""

from __future__ import annotations

from litestar.types import Message, Scope

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
    if not path.startswith(("/static/", "/vendor/")):  # the site's own files and the installed Redoc
        found.append((b"cache-control", b"no-store"))
    return found


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: runs for every response, also those no route matched (404, 405)."""
    if message["type"] != "http.response.start":
        return
    extra = headers_for(scope["path"])
    names = {name for name, _ in extra}
    message["headers"] = [*((k, v) for k, v in message.get("headers", []) if k.lower() not in names), *extra]
