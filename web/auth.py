"""Who is asking: the session cookie (pages) or an API token (JSON API).

`AuthMiddleware` resolves the caller once per request and leaves the user in
`scope["user"]` (None when nobody is signed in); guards decide what that
caller may reach. Tenant scoping itself happens in `db/`: every query takes
the signed-in user's id.
"""

from __future__ import annotations

import asyncpg
from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractMiddleware
from litestar.types import Receive, Scope, Scopes, Send

from db import api_tokens, sessions
from db.models import User

SESSION_COOKIE = "od_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthMiddleware(AbstractMiddleware):
    scopes: Scopes = {"http"}  # type: ignore[assignment]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = Litestar.from_scope(scope).state.node.database.pool
        user: User | None = None
        how = None
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization.lower().startswith("bearer "):
            user = await api_tokens.user_of_token(pool, authorization[7:].strip())
            how = "token" if user else None
        else:
            token = Request(scope).cookies.get(SESSION_COOKIE, "")
            if token:
                user = await sessions.user_of_session(pool, token)
                how = "session" if user else None
        scope["user"] = user
        scope["auth"] = how
        await self.app(scope, receive, send)


def db_pool(request: Request) -> asyncpg.Pool:
    """The node's connection pool, which every query of a request goes through."""
    return request.app.state.node.database.pool


def current_user(request: Request) -> User:
    """The signed-in user (guards make sure there is one)."""
    return request.scope["user"]  # type: ignore[return-value]


def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("Sign in first.")


def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    signed_in(connection, _)
    if connection.scope["user"].role != "admin":
        raise PermissionDeniedException("Only an administrator may do this.")


def api_caller(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The JSON API: any signed-in caller may read; changes need an API token.

    Browser sessions are refused for writes because the API is exempt from the
    form CSRF check; a bearer token is never sent by a browser on its own.
    """
    signed_in(connection, _)
    if connection.scope["method"] not in SAFE_METHODS and connection.scope.get("auth") != "token":
        raise PermissionDeniedException("Changes through the API need an API token (Authorization: Bearer ...).")
