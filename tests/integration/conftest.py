"""Fixtures for integration tests: the sandbox Telegram Bot API server and a real SMTP server
on loopback. The database, settings and services come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller

from bot.sandbox import SandboxServer
from care.services import Services
from tests.builders import TOKEN, ApiClient
from tests.integration.servers import SmtpRecorder, free_port


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The sandbox Telegram Bot API server, for a Bot made with ``TOKEN``."""
    async with SandboxServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpRecorder, int]]:
    """A real SMTP server on loopback, and its port."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


# --- the HTTP API (/api/v1) -------------------------------------------------------------------


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    """The web app of `carebot run`, called in-process as a shop's system calls its API."""
    from bot.app import build_application
    from web.app import create_app

    app = create_app(services, build_application(services.settings, services))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        yield ApiClient(client, services)
