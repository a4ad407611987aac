"""The profile, the password, API tokens, and the administrator's user list (with password resets)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from db import api_tokens, users
from db.errors import InvalidInput
from db.validation import normalize_phone_number
from engine import accounts
from web.auth import admin_only, current_user, db_pool, session_only, signed_in
from web.forms import Form, NewUserForm, PasswordForm, ProfileForm, TokenForm
from web.pages.auth import open_session
from web.rendering import page


def _profile_form(user: users.User) -> ProfileForm:
    p = user.profile
    return ProfileForm(display_name=user.display_name, time_zone=user.time_zone, callback_number=p.get("callback_number", ""),
                       about=p.get("about", ""), agent_notes=p.get("agent_notes", ""))


class AccountPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/profile")
    async def profile(self, request: Request, saved: bool = False, password_changed: bool = False) -> Template:
        return await page(request, "profile.html", form=_profile_form(current_user(request)), error=None, saved=saved,
                          password_changed=password_changed)

    @post("/profile")
    async def save_profile(self, request: Request, data: Annotated[ProfileForm, Form]) -> Template | Redirect:
        user = current_user(request)
        try:
            number = normalize_phone_number(data.callback_number, field="callback_number") if data.callback_number.strip() else ""
            profile = {"callback_number": number, "about": data.about.strip()[:4000], "agent_notes": data.agent_notes.strip()[:4000]}
            await users.update_profile(db_pool(request), user.id, display_name=data.display_name.strip(), time_zone=data.time_zone.strip(), profile=profile)
        except InvalidInput as exc:
            return await page(request, "profile.html", 400, form=data, error=exc, saved=False)
        return Redirect("/profile?saved=true", status_code=303)

    @get("/tokens")
    async def tokens(self, request: Request) -> Template:
        found = await api_tokens.list_tokens(db_pool(request), current_user(request).id)
        return await page(request, "tokens.html", tokens=found, created=None, error=None)

    @post("/tokens")
    async def create_token(self, request: Request, data: Annotated[TokenForm, Form]) -> Template:
        pool, user = db_pool(request), current_user(request)
        try:
            created, error = await api_tokens.create_token(pool, user.id, data.name, data.scope), None
        except InvalidInput as exc:
            created, error = None, exc
        found = await api_tokens.list_tokens(pool, user.id)
        return await page(request, "tokens.html", 201 if created else 400, tokens=found, created=created, error=error)

    @post("/tokens/{token_id:int}/revoke")
    async def revoke_token(self, request: Request, token_id: int) -> Redirect:
        await api_tokens.revoke_token(db_pool(request), current_user(request).id, token_id)
        return Redirect("/tokens", status_code=303)


class PasswordPages(Controller):
    """Changing one's own password; reachable while a change is required (after a reset)."""

    guards = [session_only]
    include_in_schema = False

    @get("/account/password")
    async def password_form(self, request: Request) -> Template:
        return await page(request, "password.html", error=None, required=current_user(request).must_change_password)

    @post("/account/password")
    async def change_password(self, request: Request, data: Annotated[PasswordForm, Form]) -> Template | Redirect:
        user = current_user(request)
        try:
            if data.password != data.confirm:
                raise InvalidInput("confirm", "does not match the new password")
            await accounts.change_password(db_pool(request), user, data.current_password, data.password)
        except InvalidInput as exc:
            return await page(request, "password.html", 400, error=exc, required=user.must_change_password)
        # every session ended with the change: this browser gets a fresh one
        refreshed = await users.get_user(db_pool(request), user.id)
        return await open_session(request, refreshed, "/profile?password_changed=true")


class AdminPages(Controller):
    guards = [admin_only]
    include_in_schema = False

    @get("/admin/users")
    async def users_page(self, request: Request) -> Template:
        return await page(request, "admin_users.html", users=await users.list_users(db_pool(request)), created=None, error=None, form=NewUserForm())

    @post("/admin/users")
    async def create_user(self, request: Request, data: Annotated[NewUserForm, Form]) -> Template:
        pool, password = db_pool(request), accounts.generate_password()
        try:
            created = await accounts.create_account(pool, email=data.email, password=password, role=data.role,
                                                    display_name=data.display_name.strip(), time_zone=data.time_zone.strip(),
                                                    one_time=True)
            result: dict[str, Any] = {"created": (created, password), "error": None, "form": NewUserForm()}
        except InvalidInput as exc:
            result = {"created": None, "error": exc, "form": data}
        return await page(request, "admin_users.html", 201 if result["created"] else 400, users=await users.list_users(pool), **result)

    @post("/admin/users/{user_id:int}/reset-password")
    async def reset_password(self, request: Request, user_id: int) -> Template:
        """A one-time password for the user, shown once; they must replace it when they sign in."""
        pool = db_pool(request)
        target = await users.get_user(pool, user_id)
        password = await accounts.reset_password(pool, user_id)
        return await page(request, "admin_users.html", users=await users.list_users(pool), created=None, error=None,
                          form=NewUserForm(), reset=(target, password))
