"""The console in a real headless Chromium: Debian's chromium driven by Playwright through its
``executable_path`` (Playwright's own browser downloads are never used). Without Chromium
these tests are skipped, with the reason printed.

Every test can ``shoot(page, name)``: the page is screenshotted at 1366×768 and 390×844
into tests/artifacts/screenshots (or CAREBOT_SCREENSHOTS), which CI lists.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from care.services import Services
from tests.e2e.conftest import Harness

CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
SCREENSHOTS = Path(
    os.environ.get(
        "CAREBOT_SCREENSHOTS", Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
    )
)


def chromium() -> str | None:
    return next((found for name in CHROMIUM if (found := shutil.which(name))), None)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    binary = chromium()
    if binary is None:
        reason = (
            "no Chromium (apt-get install -y chromium as root to run the console's browser tests)"
        )
        print(f"skipped: {reason}")
        pytest.skip(reason)
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        reason = "the playwright package is not installed (pip install -e '.[test]')"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chrome = await playwright.chromium.launch(executable_path=binary, args=ARGS)
        try:
            yield chrome
        finally:
            await chrome.close()


@asynccontextmanager
async def console_served(services: Services, application: Any) -> AsyncIterator[str]:
    """The web app of `carebot run` for this bot, on a free port of 127.0.0.1."""
    from web.app import create_app
    from web.server import WebServer

    server = await WebServer.start(create_app(services, application), "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        await server.stop()


@pytest.fixture
async def console(bot: Harness) -> AsyncIterator[str]:
    """The console of the running bot (the sandbox's), served as `carebot run` serves it."""
    services = bot.services
    settings = services.settings
    async with console_served(services, bot.application) as url:
        settings.public_base_url = url  # login links point at this server
        yield url


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    tab = await context.new_page()
    try:
        yield tab
    finally:
        await context.close()


def _screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


async def shoot(page: Any, name: str) -> None:
    """Screenshots of the page as it is, at a desktop's and a phone's size."""
    folder = _screenshots()
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(folder / f"{safe}-{size}.png"), full_page=True)
    await page.set_viewport_size({"width": 1366, "height": 768})


SignIn = Callable[[Any, int], Awaitable[None]]


@pytest.fixture
def sign_in(bot: Harness, console: str) -> SignIn:
    """Sign a staff member in as they would: a fresh login link, opened, its button pressed."""

    async def go(page: Any, telegram_id: int) -> None:
        link = await bot.services.console.login_link(telegram_id)
        assert link is not None
        await page.goto(link)
        await page.get_by_role("button", name=re.compile("Đăng nhập|Sign in")).click()
        await page.wait_for_url(f"{console}/console/")

    return go
