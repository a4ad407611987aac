"""User-provided names on the pages: bidi controls neutralised, a long display name does not break the header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from db import tasks, users
from db.tasks import TaskDraft
from tests.browser import browser, shot, signed_in_page  # noqa: F401 (browser is a fixture)
from tests.web.conftest import make_world, serving

pytestmark = pytest.mark.browser

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
LONG_NAME = ("Bartholomew " * 10)[:119] + "Z"  # 120 characters


@pytest.fixture
async def site(app: Any) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def test_names_lose_bidi_controls_and_a_long_display_name_is_cut_with_an_ellipsis(browser, site, make_account,  # noqa: F811
                                                                                       pool):
    user = await make_account()
    await users.update_profile(pool, user.id, display_name=LONG_NAME, time_zone="UTC", profile={})
    world = await make_world(pool, user, callee="Smile\u202eDental\u2066 exe")
    await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550124", objective="Ask",
                                                     callee_name="evil\u202egpj.exe"))
    context, page = await signed_in_page(browser, site, user.email)
    try:
        for path in ("/", "/inbox", f"/tasks/{world.task.id}", f"/calls/{world.call.id}"):
            await page.goto(site + path)
            html = await page.content()
            assert not any(c in html for c in BIDI), path
        await page.goto(site + "/")
        assert "evilgpj.exe" in await page.content()
        name = page.locator("header .me-name")
        assert await name.get_attribute("title") == f"{LONG_NAME} (your profile)"
        cut = await name.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).textOverflow === 'ellipsis'")
        assert cut
        header = await page.locator("header.top").bounding_box()
        brand = await page.locator("header .brand").bounding_box()
        assert header["height"] < 3 * brand["height"] + 20  # one row, not pushed into many lines
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shot(page, "long-display-name")
    finally:
        await context.close()


async def test_the_api_reference_renders_without_any_request_leaving_this_server(browser, site):  # noqa: F811
    context = await browser.new_context()
    outside: list[str] = []

    async def only_here(route: Any) -> None:
        if route.request.url.startswith(site):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_here)
    page = await context.new_page()
    try:
        await page.goto(site + "/schema")
        await page.get_by_role("heading", name="OpenDeep API").first.wait_for(timeout=30_000)
        await page.get_by_text("/api/tasks").first.wait_for(timeout=30_000)
        await shot(page, "api-reference")
        assert outside == []
    finally:
        await context.close()
