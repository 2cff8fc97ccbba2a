"""What several test files share: the sandbox Telegram and a real SMTP server on loopback as
fixtures, and readers of the outbox.

A test file that uses a fixture from here imports it and names it in ``__all__`` (so the
import does not read as unused)."""

from __future__ import annotations

import email
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.app import build_application
from bot.sandbox import SandboxServer
from care.core.models import Customer, CustomerMetrics, OutboxMessage
from care.core.settings import Settings
from care.services import Services
from web.app import create_app
from web.server import WebServer

TOKEN = "123456:TEST-token"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The sandbox Telegram Bot API server, for a Bot made with ``TOKEN``."""
    async with SandboxServer(token=TOKEN) as server:
        yield server


async def add_metrics(services: Services, customer: Customer, **fields: Any) -> None:
    """Give a customer the segmentation the tests need (tier, segment, lifetime value),
    as of today unless ``as_of`` says otherwise."""
    fields.setdefault("as_of", services.clock().date())
    async with services.db.uow() as uow:
        uow.session.add(CustomerMetrics(customer_id=customer.id, **fields))
        await uow.commit()


async def outbox_rows(services: Services, prefix: str = "") -> list[OutboxMessage]:
    """The outbox rows whose idempotency key starts with ``prefix``, oldest first."""
    async with services.db.uow() as uow:
        found = list(
            await uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.startswith(prefix))
                .order_by(OutboxMessage.id)
            )
        )
        uow.session.expunge_all()
    return found


async def outbox_row(services: Services, key: str) -> OutboxMessage:
    """The outbox row with this idempotency key (it must exist)."""
    async with services.db.uow() as uow:
        row = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
        uow.session.expunge_all()
    assert row is not None, key
    return row


# --- a real SMTP server -------------------------------------------------------------------------


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

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
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


def smtp_settings(settings: Settings, port: int) -> Settings:
    """The settings with the SMTP server on ``port`` (plain SMTP, no STARTTLS)."""
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )


@asynccontextmanager
async def web_served(services: Services) -> AsyncIterator[str]:
    """The web app of `carebot run` for these services, served by uvicorn on a free port
    of 127.0.0.1 as the command serves it; yields its base URL."""
    app = create_app(services, build_application(services.settings, services))
    server = await WebServer.start(app, "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        await server.stop()
