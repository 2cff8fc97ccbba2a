"""The real servers integration tests talk to: an SMTP server on loopback that records what
it accepts and answers errors on demand, and a free port for anything else to listen on.

The fixtures that start them are in this layer's conftest (``smtp_server``, ``sandbox``).
"""

from __future__ import annotations

import email
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email import policy
from email.message import EmailMessage
from typing import Any

from care.core.settings import Settings
from care.services import Services


class SmtpRecorder:
    """An aiosmtpd handler that keeps what it accepts and can answer errors on demand.

    ``answers`` are replies to the next DATA commands ("451 ...", "554 ..."), ``refuse``
    maps recipients to a reply for RCPT; ``on_accept(n)`` runs when the n-th message is
    accepted, before the server answers 250.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.answers: deque[str] = deque()
        self.refuse: dict[str, str] = {}
        self.data_commands = 0
        self.connections = 0
        self.on_accept: Callable[[int], None] | None = None
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            if self.answers:
                return self.answers.popleft()
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(message)  # type: ignore[arg-type]
            count = len(self.messages)
        if self.on_accept is not None:
            self.on_accept(count)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smtp_settings(settings: Settings, port: int) -> Settings:
    """The settings with the SMTP server on ``port`` (plain SMTP, no STARTTLS)."""
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )


@asynccontextmanager
async def web_served(services: Services) -> AsyncIterator[str]:
    """The web app of `carebot run` for these services, served by uvicorn on a free port
    of 127.0.0.1 as the command serves it; yields its base URL."""
    from bot.app import build_application
    from web.app import create_app
    from web.server import WebServer

    app = create_app(services, build_application(services.settings, services))
    server = await WebServer.start(app, "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        await server.stop()
