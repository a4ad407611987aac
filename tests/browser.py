"""What the browser tests share: Debian's Chromium driven by Playwright, signing in, screenshots.

Importing this module skips the importing test module when Chromium or Playwright is missing
(scripts/test installs Chromium; Playwright cannot download browsers here).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.web.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    pytest.skip("Chromium is not installed (scripts/test installs it: apt-get install chromium)",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def signed_in_page(browser: Any, base_url: str, email: str) -> tuple[Any, Any]:
    """A fresh browser context signed in as `email` (password PASSWORD): (context, page)."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    return context, page


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def live(page: Any) -> None:
    """Wait until the page's live-update stream is subscribed."""
    await expect(page.locator("body")).to_have_attribute("data-live", "connected")
