"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from db import sessions
from engine import accounts
from web.auth import SESSION_COOKIE, db_pool
from web.forms import Form, LoginForm
from web.rendering import page


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


class AuthPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request, next: str = "/") -> Template:
        return await page(request, "login.html", next=_safe_next(next), error=None, email="")

    @post("/login")
    async def login(self, request: Request, data: Annotated[LoginForm, Form]) -> Template | Redirect:
        pool = db_pool(request)
        user = await accounts.authenticate(pool, data.email, data.password)
        if user is None:
            return await page(request, "login.html", 401, next=_safe_next(data.next), error="Wrong email or password.", email=data.email)
        token = await sessions.create_session(pool, user.id, user_agent=request.headers.get("user-agent", ""))
        cookie = Cookie(
            key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", path="/",
            secure=request.url.scheme == "https", max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        )
        return Redirect(_safe_next(data.next), status_code=303, cookies=[cookie])

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await sessions.end_session(db_pool(request), token)
        response = Redirect("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
