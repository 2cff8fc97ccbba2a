"""E-mail delivery through a real SMTP server (aiosmtpd on 127.0.0.1): MIME, unsubscribe
headers, one connection for many messages, 4xx retried, 5xx final; .eml files without SMTP."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest

from care.core.models import Customer, MessageCategory
from care.outreach.outbox import Message
from care.services import Services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel, SmtpChannel
from tests.builders import make_customer, outbox_row
from tests.integration.servers import SmtpRecorder, smtp_settings


async def queue_email(
    services: Services, who: Customer, key: str, category: str = MessageCategory.MARKETING
) -> None:
    async with services.db.uow() as uow:
        await services.care.outbox.to_customer(
            uow.session,
            who,
            key=key,
            category=category,
            template="promo",
            message=lambda lang: Message(
                body=f"Chào <b>{who.name}</b>, ưu đãi 20% &amp; quà tặng",
                subject="Ưu đãi tháng này",
            ),
            now=services.clock(),
            preference="email",
        )
        await uow.commit()


async def promotion_to_lan(services: Services) -> Customer:
    """Lan, who agreed to promotions by e-mail, with one queued for her (``promo:1``)."""
    lan = await make_customer(services, email="lan@example.com", consent_email=True)
    await queue_email(services, lan, "promo:1")
    return lan


@pytest.fixture
async def mail(
    services: Services, smtp_server: tuple[SmtpRecorder, int]
) -> AsyncIterator[tuple[Dispatcher, SmtpRecorder]]:
    """A dispatcher that sends e-mail only, to a real SMTP server, and that server."""
    server, port = smtp_server
    channel = SmtpChannel(smtp_settings(services.settings, port))
    dispatcher = Dispatcher(services, telegram=None, email=channel)
    yield dispatcher, server
    await dispatcher.close()


async def test_an_email_is_multipart_with_one_click_unsubscribe(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = mail
    lan = await promotion_to_lan(services)
    report = await dispatcher.drain()

    assert report["sent"] == 1
    [message] = server.to("lan@example.com")
    assert message["Subject"] == "Ưu đãi tháng này"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Chào Nguyễn Thị Lan, ưu đãi 20% & quà tặng" in text
    assert "<b>Nguyễn Thị Lan</b>" in html
    link = services.care.outbox.links.url(lan.id)
    assert link.startswith(services.settings.public_base_url + "/unsubscribe/")
    assert link in text and f'href="{link}"' in html  # the visible link
    assert message["List-Unsubscribe"] == f"<{link}>"  # no mailto: nothing would read it
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = await outbox_row(services, "promo:1")
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, services.clock())


async def test_one_connection_carries_every_message(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = mail
    for n in range(5):
        who = await make_customer(services, email=f"k{n}@example.com", consent_email=True)
        await queue_email(services, who, f"promo:{n}")
    await dispatcher.drain()
    assert len(server.messages) == 5
    assert server.connections == 1


async def test_a_temporary_failure_is_retried_with_backoff_and_sent_once(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder], clock: Any
) -> None:
    dispatcher, server = mail
    server.answers.append("451 4.3.0 Mailbox busy, try again later")
    await promotion_to_lan(services)

    await dispatcher.drain()
    row = await outbox_row(services, "promo:1")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None and row.last_error.startswith("451")
    assert row.next_attempt_at == clock() + timedelta(seconds=30)

    await dispatcher.drain()  # not due yet: nothing happens
    assert server.data_commands == 1

    clock.advance(seconds=30)
    await dispatcher.drain()
    row = await outbox_row(services, "promo:1")
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(server.to("lan@example.com")) == 1


async def test_a_permanent_failure_is_final(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder], clock: Any
) -> None:
    dispatcher, server = mail
    server.answers.append("554 5.7.1 Message rejected")
    await promotion_to_lan(services)
    await dispatcher.drain()
    clock.advance(hours=2)
    await dispatcher.drain()

    row = await outbox_row(services, "promo:1")
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and row.last_error.startswith("554")
    assert server.data_commands == 1 and server.messages == []


async def test_an_unknown_mailbox_marks_the_address_unreachable(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = mail
    server.refuse["ghost@example.com"] = "550 5.1.1 No such user"
    ghost = await make_customer(services, email="ghost@example.com", consent_email=True)
    await queue_email(services, ghost, "promo:1")
    await dispatcher.drain()
    assert (await outbox_row(services, "promo:1")).status == "failed"
    async with services.db.uow() as uow:
        assert (await uow.session.get(Customer, ghost.id)).email_unreachable  # type: ignore[union-attr]


async def test_retries_stop_at_the_maximum(
    services: Services, mail: tuple[Dispatcher, SmtpRecorder], clock: Any
) -> None:
    dispatcher, server = mail
    attempts = services.settings.outbox_max_attempts
    server.answers.extend(["421 4.3.2 Service not available"] * attempts)
    await promotion_to_lan(services)
    for _ in range(attempts):
        await dispatcher.drain()
        clock.advance(hours=1)  # past the longest backoff, before quiet hours begin
    row = await outbox_row(services, "promo:1")
    assert (row.status, row.attempts) == ("failed", attempts)


async def test_without_an_smtp_host_emails_become_eml_files(
    services: Services, tmp_path: Path
) -> None:
    await promotion_to_lan(services)
    directory = tmp_path / "outbox"
    dispatcher = Dispatcher(services, telegram=None, email=EmlDirectoryChannel(directory))
    await dispatcher.drain()
    [path] = list(directory.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "lan@example.com"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (await outbox_row(services, "promo:1")).status == "sent"
