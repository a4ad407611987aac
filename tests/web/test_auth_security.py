"""Issue 13's auth findings, each tried as an attacker or a locked-out user would."""

from __future__ import annotations

import re

import httpx
import pytest

from db import api_tokens, users
from db.errors import InvalidInput
from engine import accounts
from tests.web.conftest import CSRF_FIELD, PASSWORD, serving

NEW_PASSWORD = "violet tram oyster lantern"


def _secret_on(page: str) -> str:
    return re.search(r'<pre class="secret">([^<]+)</pre>', page).group(1)  # type: ignore[union-attr]


# --- API tokens: the API only, with scopes -------------------------------------------------


async def test_a_token_opens_no_page_and_a_read_token_cannot_change_anything(signed_in, pool, make_account):
    web, user = await signed_in()
    read = (await api_tokens.create_token(pool, user.id, "reader")).secret
    write = (await api_tokens.create_token(pool, user.id, "writer", "write")).secret
    as_reader = {"Authorization": f"Bearer {read}"}
    bare = httpx.AsyncClient(base_url=str(web.client.base_url))
    try:
        for path in ("/", "/tokens", "/profile", "/chat", "/inbox"):
            response = await bare.get(path, headers=as_reader)
            assert response.status_code == 403, path
            assert "only for the JSON API" in response.text
        assert (await bare.get("/api/tasks", headers=as_reader)).status_code == 200
        refused = await bare.post("/api/tasks", headers=as_reader, json={"phone_number": "+14155550123", "objective": "x"})
        assert refused.status_code == 403 and "may only read" in refused.json()["detail"]
        made = await bare.post("/api/tasks", headers={"Authorization": f"Bearer {write}"},
                               json={"phone_number": "+14155550123", "objective": "x"})
        assert made.status_code == 201
        # A token cannot make tokens (the tokens page is for sessions), nor fetch a form token to try.
        before = len(await api_tokens.list_tokens(pool, user.id))
        tried = await bare.post("/tokens", headers={"Authorization": f"Bearer {write}"}, data={"name": "more"})
        assert tried.status_code == 403
        assert len(await api_tokens.list_tokens(pool, user.id)) == before
        admin = await make_account("admin")
        admin_token = (await api_tokens.create_token(pool, admin.id, "admin's", "write")).secret
        assert (await bare.get("/admin/users", headers={"Authorization": f"Bearer {admin_token}"})).status_code == 403
    finally:
        await bare.aclose()


async def test_the_tokens_page_shows_and_sets_the_scope(signed_in):
    web, _ = await signed_in()
    created = await web.post_form("/tokens", {"name": "ci", "scope": "write"}, csrf_from="/tokens")
    assert created.status_code == 201 and "read and write" in created.text
    created = await web.post_form("/tokens", {"name": "dash"}, csrf_from="/tokens")
    assert "read only" in created.text
    bad = await web.post_form("/tokens", {"name": "x", "scope": "admin"}, csrf_from="/tokens")
    assert bad.status_code == 400 and "scope" in bad.text


# --- signing in: throttled ----------------------------------------------------------------


async def _login(web, email: str, password: str) -> httpx.Response:
    return await web.client.post("/login", data={"email": email, "password": password, "_csrf_token": await web.csrf()})


async def test_wrong_passwords_are_throttled_per_account_even_for_the_right_one(client_factory, make_account, pool):
    user = await make_account()
    web = await client_factory()
    for _ in range(accounts.PER_ACCOUNT.free):
        assert (await _login(web, user.email, "wrong password here")).status_code == 401
    refused = await _login(web, user.email, "wrong password here")
    assert refused.status_code == 429 and "Too many failed sign-ins. Try again in" in refused.text
    right = await _login(web, user.email, PASSWORD)
    assert right.status_code == 429  # the right password does not get through while throttled
    # The wait doubles with each failure past the free ones; once it has passed, the right password works.
    await pool.execute("UPDATE login_failures SET at = at - interval '20 minutes' WHERE lower(email) = lower($1)", user.email)
    assert (await _login(web, user.email, PASSWORD)).status_code == 303
    assert await pool.fetchval("SELECT count(*) FROM login_failures WHERE lower(email) = lower($1)", user.email) == 0


async def test_one_address_guessing_many_accounts_is_throttled(client_factory, make_account, pool):
    await pool.execute("DELETE FROM login_failures WHERE address = '127.0.0.1'")
    victim = await make_account()
    web = await client_factory()
    for n in range(accounts.PER_ADDRESS.free + 1):
        await _login(web, f"guess{n}@example.test", "wrong password here")
    assert (await _login(web, victim.email, PASSWORD)).status_code == 429
    await pool.execute("DELETE FROM login_failures WHERE address = '127.0.0.1'")


def test_the_wait_doubles_and_is_capped():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    throttle = accounts.Throttle(free=2)
    assert throttle.wait([now, now], now) == timedelta(seconds=30)
    assert throttle.wait([now] * 4, now) == timedelta(seconds=120)
    assert throttle.wait([now] * 40, now) == throttle.longest_wait
    assert throttle.wait([now], now) == timedelta(0)


# --- passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["a" * 10, "a" * 12, "password1234", "hunter2hunter2", "qwertyuiopas"])
async def test_short_common_and_patterned_passwords_are_refused(pool, weak):
    with pytest.raises(InvalidInput) as refused:
        await accounts.create_account(pool, email="weak@example.test", password=weak)
    assert refused.value.field == "password"


async def test_a_user_changes_their_password_and_other_sessions_end(signed_in, client_factory, make_account):
    web, user = await signed_in()
    other = await client_factory()
    assert (await other.login(user)).status_code == 303
    wrong = await web.post_form("/account/password", {"current_password": "not it at all", "password": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD}, csrf_from="/account/password")
    assert wrong.status_code == 400 and "current password" in wrong.text
    weak = await web.post_form("/account/password", {"current_password": PASSWORD, "password": "aaaaaaaaaaaa",
                                                      "confirm": "aaaaaaaaaaaa"}, csrf_from="/account/password")
    assert weak.status_code == 400 and "too easy to guess" in weak.text
    changed = await web.post_form("/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                         "confirm": NEW_PASSWORD}, csrf_from="/account/password")
    assert changed.status_code == 303 and changed.headers["location"] == "/profile?password_changed=true"
    assert (await web.client.get("/profile")).status_code == 200  # this browser got a fresh session
    assert (await other.client.get("/profile")).status_code == 303  # the other one was signed out
    fresh = await client_factory()
    assert (await fresh.login(user)).status_code == 401
    assert (await fresh.login(user, NEW_PASSWORD)).status_code == 303


async def test_an_admin_reset_forces_a_new_password_before_anything_else(signed_in, client_factory, pool):
    admin, _ = await signed_in("admin")
    web, user = await signed_in()
    token = (await api_tokens.create_token(pool, user.id, "script")).secret
    reset = await admin.post_form(f"/admin/users/{user.id}/reset-password", csrf_from="/admin/users")
    assert reset.status_code == 200 and user.email in reset.text
    one_time = _secret_on(reset.text)
    assert (await web.client.get("/")).status_code == 303  # the user's sessions ended
    again = await client_factory()
    assert (await again.login(user)).status_code == 401  # the old password is gone
    signed = await again.login(user, one_time)
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password"
    for path in ("/", "/tokens", "/inbox"):
        response = await again.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/account/password", path
    api = await again.client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403 and "password must be changed" in api.json()["detail"]
    changed = await again.post_form("/account/password", {"current_password": one_time, "password": NEW_PASSWORD,
                                                           "confirm": NEW_PASSWORD}, csrf_from="/account/password")
    assert changed.status_code == 303
    assert (await again.client.get("/")).status_code == 200
    assert (await again.client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_one_time_passwords_of_new_accounts_must_be_replaced(pool):
    await pool.execute("DELETE FROM users WHERE email = $1", accounts.FIRST_ADMIN_EMAIL)
    created = await accounts.create_account(pool, email="fresh@example.test", password=accounts.generate_password(),
                                            one_time=True)
    assert (await users.get_user(pool, created.id)).must_change_password


async def test_sign_out_everywhere_ends_every_session(signed_in, client_factory):
    web, user = await signed_in()
    other = await client_factory()
    await other.login(user)
    response = await web.post_form("/logout/everywhere", csrf_from="/profile")
    assert response.status_code == 303
    assert (await web.client.get("/profile")).status_code == 303
    assert (await other.client.get("/profile")).status_code == 303


async def test_a_session_ends_when_idle_and_at_its_absolute_limit(signed_in, pool):
    web, user = await signed_in()
    assert (await web.client.get("/profile")).status_code == 200
    await pool.execute("UPDATE web_sessions SET last_seen_at = now() - interval '13 hours' WHERE user_id = $1", user.id)
    assert (await web.client.get("/profile")).status_code == 303
    web2, user2 = await signed_in()
    await pool.execute("UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", user2.id)
    assert (await web2.client.get("/profile")).status_code == 303


# --- CSRF bound to the session, Origin checked ------------------------------------------------


async def test_a_form_token_is_good_only_for_its_own_session_and_rotates_at_sign_in(signed_in, client_factory, make_account):
    web, _ = await signed_in()
    mallory, _ = await signed_in()
    theirs = await mallory.csrf("/profile")
    refused = await web.client.post("/profile", data={"display_name": "x", "_csrf_token": theirs})
    assert refused.status_code == 403
    user = await make_account()
    fresh = await client_factory()
    before = await fresh.csrf("/login")
    await fresh.login(user)
    after = await fresh.csrf("/profile")
    assert before != after
    stale = await fresh.client.post("/profile", data={"display_name": "x", "_csrf_token": before})
    assert stale.status_code == 403


async def test_a_post_from_another_site_is_refused_even_with_a_token(signed_in):
    web, _ = await signed_in()
    token = await web.csrf("/profile")
    refused = await web.client.post("/profile", data={"display_name": "x", "_csrf_token": token},
                                    headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and "another site" in refused.text
    same = await web.client.post("/profile", data={"display_name": "Me", "time_zone": "UTC", "_csrf_token": token},
                                 headers={"Origin": str(web.client.base_url).rstrip("/")})
    assert same.status_code == 303, same.text


# --- headers and cookies ------------------------------------------------------------------------


async def test_every_response_carries_the_security_headers(signed_in):
    web, _ = await signed_in()
    for path in ("/", "/tokens", "/login", "/api/tasks", "/no-such-page", "/static/app.css", "/health"):
        response = await web.client.get(path)
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        if path.startswith("/static/"):
            assert "no-store" not in response.headers.get("cache-control", "")
        else:
            assert response.headers["cache-control"] == "no-store", path
    assert "'unsafe-inline'" not in (await web.client.get("/tokens")).headers["content-security-policy"]


async def test_cookies_are_secure_behind_a_trusted_tls_proxy(app, make_account):
    user = await make_account()
    async with serving(app, proxy_headers=True, forwarded_allow_ips="127.0.0.1") as url:
        async with httpx.AsyncClient(base_url=url) as client:
            https = {"X-Forwarded-Proto": "https"}
            page = await client.get("/login", headers=https)
            assert "secure" in page.headers["set-cookie"].lower()
            token = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            presession = page.headers["set-cookie"].split(";")[0]  # httpx keeps Secure cookies off http://: send it by hand
            signed = await client.post("/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": token},
                                       headers={**https, "Origin": url.replace("http://", "https://"), "Cookie": presession})
            assert signed.status_code == 303
            assert "secure" in signed.headers["set-cookie"].lower()
    async with serving(app, proxy_headers=True, forwarded_allow_ips="192.0.2.1") as url:  # we are not the trusted proxy
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/login", headers={"X-Forwarded-Proto": "https"})
            assert "secure" not in page.headers["set-cookie"].lower()
