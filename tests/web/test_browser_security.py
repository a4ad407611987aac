"""Security headers as Chromium enforces them: no framing from another site, no inline script,
and the pages still work under the policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web as aiohttp_web

from tests.browser import browser, expect, signed_in_page  # noqa: F401 (browser is a fixture)
from tests.web.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture
async def site(app: Any) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


@pytest.fixture
async def other_site(site: str) -> AsyncIterator[str]:
    """Another origin (another port) whose page frames ours, as a clickjacking page would."""

    async def framing(_: aiohttp_web.Request) -> aiohttp_web.Response:
        html = f'<!doctype html><h1>Win a prize</h1><iframe id="victim" src="{site}/tokens" width="800" height="600"></iframe>'
        return aiohttp_web.Response(text=html, content_type="text/html")

    app = aiohttp_web.Application()
    app.router.add_get("/", framing)
    runner = aiohttp_web.AppRunner(app)
    await runner.setup()
    server = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_another_site_cannot_frame_the_tokens_page(browser, site, other_site, make_account):
    user = await make_account()
    context, page = await signed_in_page(browser, site, user.email)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "frame-ancestors" in message.text else None)
    try:
        await page.goto(other_site)
        await expect(page.get_by_role("heading", name="Win a prize")).to_be_visible()
        framed = page.frame_locator("#victim")
        await expect(framed.get_by_role("button", name="Create token")).to_have_count(0)
        victim = next(frame for frame in page.frames if frame is not page.main_frame)
        assert "/tokens" not in victim.url or not await victim.locator("form").count()
    finally:
        await context.close()


async def test_inline_script_does_not_run_and_our_own_script_does(browser, site, make_account):
    user = await make_account()
    context, page = await signed_in_page(browser, site, user.email)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    try:
        await page.goto("/")
        await expect(page.locator("body")).to_have_attribute("data-live", "connected")  # app.js ran
        assert violations == []  # the pages themselves need nothing the policy forbids
        ran = await page.evaluate("""() => new Promise(resolve => {
            const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
            document.body.appendChild(s); setTimeout(() => resolve(window.__inline === 1), 50); })""")
        assert ran is False
    finally:
        await context.close()
