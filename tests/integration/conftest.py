"""Fixtures for integration tests: the sandbox Telegram Bot API server and a real SMTP server
on loopback. The database, settings and services come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiosmtpd.controller import Controller

from bot.sandbox import SandboxServer
from tests.builders import TOKEN
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
