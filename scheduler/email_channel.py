"""E-mail delivery: over SMTP with aiosmtplib on one reused connection, or into .eml files.

Every e-mail is multipart (plain text and HTML, built into its wire form when the row was
queued: ``care.outreach.email_message``) and carries List-Unsubscribe with an http(s) link
and List-Unsubscribe-Post for one-click unsubscribing (RFC 8058), besides the visible
link in the body.

SMTP answers decide what happens next: 4xx is temporary (retried with backoff), 5xx is
final, and a 5xx refusing the recipient (550, 551, 553) marks the address unreachable.
With no SMTP host configured, messages are written to ``settings.outbox_dir`` as .eml files
named after the outbox row, so a demo needs nothing and rewriting a file is harmless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from care.core.settings import Settings
from care.outreach import (
    Delivered,
    OutboxRow,
    Outcome,
    RetryLater,
    Undeliverable,
    UnsubscribeLinks,
    email_wire,
    eml_file_name,
    message_id,
    sender,
)

log = logging.getLogger("carebot.email")

DEAD_MAILBOX_CODES = {550, 551, 553}


@dataclass(frozen=True)
class OutgoingEmail:
    """An e-mail ready for the wire: who gets it, its Message-ID and its bytes."""

    recipient: str
    message_id: str
    data: bytes
    file_name: str  # in ``outbox_dir`` when there is no SMTP server


def outgoing_email(row: OutboxRow, settings: Settings, links: UnsubscribeLinks) -> OutgoingEmail:
    """The outbox row as it goes on the wire: the bytes built when it was queued (a row
    queued without them, by an earlier version, gets them built now)."""
    data = row.mime or email_wire(dataclasses.asdict(row), settings, links)
    key, mail_from = row.idempotency_key, settings.mail_from
    return OutgoingEmail(
        row.recipient, message_id(key, mail_from), data, eml_file_name(key, mail_from)
    )


class EmailSender(Protocol):
    """What the dispatcher needs of an e-mail channel."""

    async def ready(self) -> str | None:
        """None when a message can go now, else why not (the server is down...)."""

    async def send(self, email: OutgoingEmail) -> Outcome:
        """Hand one e-mail over; every answer becomes an Outcome, none raises."""

    async def close(self) -> None: ...


class SmtpChannel:
    """One SMTP connection, opened on first use and reused for every message after."""

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        if not settings.smtp_host:
            raise ValueError("no SMTP host configured")
        self.settings = settings
        implicit_tls = settings.smtp_port == 465
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else settings.smtp_starttls,
            timeout=timeout,
        )
        self.sender = sender(settings.mail_from)[1]

    async def ready(self) -> str | None:
        if self.client.is_connected:
            return None
        try:
            await self.client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return f"cannot connect to {self.settings.smtp_host}:{self.settings.smtp_port}: {exc}"
        return None

    async def send(self, email: OutgoingEmail) -> Outcome:
        """One e-mail over the open connection (MAIL FROM, RCPT TO, DATA)."""
        try:
            await self.client.mail(self.sender)
            await self.client.rcpt(email.recipient)
            await self.client.data(email.data)
        except aiosmtplib.SMTPRecipientRefused as exc:
            outcome = _by_code(
                exc.code, f"{exc.code} {exc.message}", dead=exc.code in DEAD_MAILBOX_CODES
            )
        except aiosmtplib.SMTPResponseException as exc:
            outcome = _by_code(exc.code, f"{exc.code} {exc.message}")
        except ValueError as exc:  # an address that cannot be sent to at all
            outcome = Undeliverable(f"bad address: {exc}", unreachable=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Disconnected or timed out before the server's final answer: not accepted.
            await self._drop()
            return RetryLater(f"connection: {exc}")
        else:
            return Delivered()
        await self._reset()
        return outcome

    async def _reset(self) -> None:
        """Forget the refused envelope so the connection can carry the next message."""
        if self.client.is_connected:
            try:
                await self.client.rset()
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()

    async def _drop(self) -> None:
        try:
            self.client.close()
        except Exception:  # already gone
            log.debug("closing a broken SMTP connection failed", exc_info=True)

    async def close(self) -> None:
        if self.client.is_connected:
            try:
                await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()


def _by_code(code: int, error: str, *, dead: bool = False) -> Outcome:
    if 400 <= code < 500:
        return RetryLater(error)
    return Undeliverable(error, unreachable=dead)


class EmlDirectoryChannel:
    """Writes each e-mail to ``outbox_dir`` as an .eml file (no SMTP host configured)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def ready(self) -> str | None:
        try:
            await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create {self.directory}: {exc}"
        return None

    async def send(self, email: OutgoingEmail) -> Outcome:
        name = email.file_name
        try:
            await asyncio.to_thread(_write_atomically, self.directory / name, email.data)
        except OSError as exc:
            return RetryLater(f"cannot write {name}: {exc}")
        return Delivered(name)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def email_channel(settings: Settings) -> EmailSender:
    """SMTP when a host is configured, .eml files otherwise."""
    if settings.smtp_host:
        return SmtpChannel(settings)
    return EmlDirectoryChannel(settings.outbox_dir)
