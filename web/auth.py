"""Who is asking: the session cookie (pages) or an API token (JSON API).

`AuthMiddleware` resolves the caller once per request and leaves the user in
`scope["user"]` (None when nobody is signed in), how they signed in in
`scope["auth"]` ("session" | "token") and a token's scope in
`scope["token_scope"]` ("read" | "write"); guards decide what that caller may
reach. Pages take only sessions; the JSON API reads with either and changes
only with a `write` token. A user whose password was reset (or is still a
one-time password) may do nothing but change it. Tenant scoping itself
happens in `db/`: every query takes the signed-in user's id.
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
        app_state = Litestar.from_scope(scope).state
        pool = app_state.node.database.pool
        user: User | None = None
        how = token_scope = None
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization.lower().startswith("bearer "):
            found = await api_tokens.user_of_token(pool, authorization[7:].strip())
            if found is not None:
                user, token_scope = found
                how = "token"
        else:
            token = Request(scope).cookies.get(SESSION_COOKIE, "")
            if token:
                user = await sessions.user_of_session(pool, token, idle_timeout=app_state.session_idle_timeout)
                how = "session" if user else None
        scope["user"] = user
        scope["auth"] = how
        scope["token_scope"] = token_scope  # type: ignore[typeddict-unknown-key]
        await self.app(scope, receive, send)


def db_pool(request: Request) -> asyncpg.Pool:
    """The node's connection pool, which every query of a request goes through."""
    return request.app.state.node.database.pool


def current_user(request: Request) -> User:
    """The signed-in user (guards make sure there is one)."""
    return request.scope["user"]  # type: ignore[return-value]


class PasswordChangeRequired(PermissionDeniedException):
    """The user must choose a new password before anything else (errors.py sends pages to the form)."""


def session_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A browser session; what the password form itself needs (even while a change is required)."""
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("Sign in first.")
    if connection.scope.get("auth") != "session":
        raise PermissionDeniedException("API tokens work only for the JSON API under /api/; sign in to use the pages.")


def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A browser session of a user who may use the site (no password change pending)."""
    session_only(connection, _)
    if connection.scope["user"].must_change_password:
        raise PasswordChangeRequired("Choose a new password first.")


def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    signed_in(connection, _)
    if connection.scope["user"].role != "admin":
        raise PermissionDeniedException("Only an administrator may do this.")


def api_caller(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The JSON API: any signed-in caller may read; changes need an API token with the `write` scope.

    Browser sessions are refused for writes because the API is exempt from the
    form CSRF check; a bearer token is never sent by a browser on its own.
    """
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Sign in first, or send Authorization: Bearer <API token>.")
    if user.must_change_password:
        raise PasswordChangeRequired("The account's password must be changed (sign in on the site) before the API works.")
    if connection.scope["method"] in SAFE_METHODS:
        return
    if connection.scope.get("auth") != "token":
        raise PermissionDeniedException("Changes through the API need an API token (Authorization: Bearer ...).")
    if connection.scope.get("token_scope") != "write":
        raise PermissionDeniedException("This API token may only read; create a token with the write scope to make changes.")
