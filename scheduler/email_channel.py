"""E-mail delivery: over SMTP with aiosmtplib on one reused connection, or into .eml files.

Every e-mail is multipart (plain text and HTML, both rendered when the row was queued) and
carries List-Unsubscribe with an http(s) link and a mailto, plus List-Unsubscribe-Post for
one-click unsubscribing (RFC 8058), besides the visible link in the body.

SMTP answers decide what happens next: 4xx is temporary (retried with backoff), 5xx is
final, and a 5xx refusing the recipient (550, 551, 553) marks the address unreachable.
With no SMTP host configured, messages are written to ``settings.outbox_dir`` as .eml files
named after the outbox row, so a demo needs nothing and rewriting a file is harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Awaitable
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from care.outbox import (
    Delivered,
    OutboxRow,
    Outcome,
    RetryLater,
    Undeliverable,
    list_unsubscribe_headers,
)
from care.settings import Settings
from care.text import utcnow

log = logging.getLogger("carebot.email")

DEAD_MAILBOX_CODES = {550, 551, 553}
# RFC 5322 allows 998 characters a line; folding List-Unsubscribe right after its colon
# is legal but trips up some mail clients' unsubscribe buttons.
WIRE = compat32.clone(linesep="\r\n", max_line_length=998)


def build_email(row: OutboxRow, settings: Settings) -> Message:
    """The MIME message for an outbox row: text and HTML alternatives, unsubscribe headers.

    Built with the classic ``email.mime`` classes, which are several times faster than
    ``EmailMessage`` with a modern policy: this runs once per e-mail of every campaign.
    """
    text = MIMEText(row.body, "plain", "utf-8")
    message: Message
    if row.body_html:
        message = MIMEMultipart("alternative")
        message.attach(text)
        message.attach(MIMEText(row.body_html, "html", "utf-8"))
    else:
        message = text
    name, address = parseaddr(settings.mail_from)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = row.recipient
    message["Subject"] = Header(row.subject or settings.shop_name, "utf-8")
    message["Date"] = format_datetime(row.created_at or utcnow())
    domain = address.rpartition("@")[2] or "carebot.local"
    digest = hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{domain}>"  # the same on every attempt
    if row.customer_id is not None:
        for header, value in list_unsubscribe_headers(row.customer_id, settings).items():
            message[header] = value
    return message


def wire_bytes(message: Message) -> bytes:
    """The message as sent: CRLF line ends, header lines unfolded up to RFC 5322's 998."""
    return message.as_bytes(policy=WIRE)


class EmailSender(Protocol):
    """What the dispatcher needs of an e-mail channel."""

    async def ready(self) -> str | None:
        """None when a message can go now, else why not (the server is down...)."""

    async def send(
        self, message: Message, gate: Awaitable[bool] | None = None
    ) -> Outcome | None:
        """Send unless ``gate`` resolves False (then None: nothing was sent)."""

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
        self.sender = parseaddr(settings.mail_from)[1]

    async def ready(self) -> str | None:
        if self.client.is_connected:
            return None
        try:
            await self.client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return f"cannot connect to {self.settings.smtp_host}:{self.settings.smtp_port}: {exc}"
        return None

    async def send(self, message: Message, gate: Awaitable[bool] | None = None) -> Outcome | None:
        """Send one message; with a ``gate``, only if it resolves True.

        The envelope (MAIL FROM, RCPT TO) goes out while the gate (the outbox claim) is
        still being committed; the content (DATA), after which the server owns the
        message, only once the claim holds. A gate that fails resets the envelope and
        returns None: nothing was sent.
        """
        recipient = str(message["To"])
        data = wire_bytes(message)
        claimed = False
        try:
            await self.client.mail(self.sender)
            await self.client.rcpt(recipient)
            claimed = gate is None or await gate
            if not claimed:
                await self.client.rset()
                return None
            await self.client.data(data)
        except aiosmtplib.SMTPRecipientRefused as exc:
            outcome = _by_code(exc.code, f"{exc.code} {exc.message}",
                               dead=exc.code in DEAD_MAILBOX_CODES)
            return await self._after_error(outcome, gate, claimed)
        except aiosmtplib.SMTPResponseException as exc:
            outcome = _by_code(exc.code, f"{exc.code} {exc.message}")
            return await self._after_error(outcome, gate, claimed)
        except ValueError as exc:  # an address that cannot be sent to at all
            return await self._after_error(
                Undeliverable(f"bad address: {exc}", unreachable=True), gate, claimed
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Disconnected or timed out before the server's final answer: not accepted.
            await self._drop()
            return await self._after_error(RetryLater(f"connection: {exc}"), gate, claimed)
        return Delivered()

    async def _after_error(
        self, outcome: Outcome, gate: Awaitable[bool] | None, claimed: bool
    ) -> Outcome | None:
        """An error before or after the gate: reset the envelope, and report the outcome
        only if the row is ours (the gate may still be settling)."""
        if self.client.is_connected:
            try:
                await self.client.rset()
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()
        if not claimed and gate is not None and not await gate:
            return None
        return outcome

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


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


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

    async def send(self, message: Message, gate: Awaitable[bool] | None = None) -> Outcome | None:
        if gate is not None and not await gate:
            return None
        name = _UNSAFE.sub("_", str(message["Message-ID"]).strip("<>")) + ".eml"
        try:
            await asyncio.to_thread(_write_atomically, self.directory / name, wire_bytes(message))
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
