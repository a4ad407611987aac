"""Signing in and out: throttled sign-in, sign out here or everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from db import sessions
from db.models import User
from engine import accounts
from web.auth import SESSION_COOKIE, db_pool, session_only
from web.forms import Form, LoginForm
from web.rendering import page


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def open_session(request: Request, user: User, target: str) -> Redirect:
    """A new sign-in session for this browser (a new session also means a new form token), then `target`."""
    lifetime: timedelta = request.app.state.session_lifetime
    token = await sessions.create_session(db_pool(request), user.id, user_agent=request.headers.get("user-agent", ""),
                                          lifetime=lifetime)
    cookie = Cookie(
        key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https", max_age=int(lifetime.total_seconds()),
    )
    return Redirect("/account/password" if user.must_change_password else target, status_code=303, cookies=[cookie])


def _signed_out(target: str = "/login") -> Redirect:
    response = Redirect(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class AuthPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request, next: str = "/") -> Template:
        return await page(request, "login.html", next=_safe_next(next), error=None, email="")

    @post("/login")
    async def login(self, request: Request, data: Annotated[LoginForm, Form]) -> Template | Redirect:
        pool = db_pool(request)
        address = request.client.host if request.client else "unknown"
        try:
            user = await accounts.authenticate(pool, data.email, data.password, address=address, now=datetime.now(UTC))
        except accounts.TooManyAttempts as exc:
            return await page(request, "login.html", 429, next=_safe_next(data.next), error=str(exc), email=data.email)
        if user is None:
            return await page(request, "login.html", 401, next=_safe_next(data.next), error="Wrong email or password.", email=data.email)
        return await open_session(request, user, _safe_next(data.next))

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await sessions.end_session(db_pool(request), token)
        return _signed_out()

    @post("/logout/everywhere", guards=[session_only])
    async def logout_everywhere(self, request: Request) -> Redirect:
        """End every session of this user, on every device (this one too)."""
        await sessions.end_all_sessions(db_pool(request), request.scope["user"].id)
        return _signed_out("/login?signed_out=everywhere")
