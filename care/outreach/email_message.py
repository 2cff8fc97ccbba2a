"""The wire form of an e-mail: MIME text and HTML alternatives, built once when it is queued.

An e-mail's bytes are fixed when its outbox row is written (``care.outreach.outbox``), so every
attempt sends the very same message (same Date, Message-ID and boundary) and the
dispatcher only hands bytes to the server. The classic ``email.mime`` classes are used:
several times faster than ``EmailMessage`` with a modern policy, which matters for a
campaign of ten thousand.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, parseaddr

MAX_LINE = 998  # RFC 5322
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends and lines up to RFC 5322's 998 characters.

    Folding List-Unsubscribe right after its colon is legal but trips up some mail clients'
    unsubscribe buttons, hence the long lines. Header values that are already ASCII and fit
    on one line (every header ``build_email`` writes: the non-ASCII ones are encoded words
    by then) are written as they are; compat32 would run each through ``Header.encode``
    to the same result, most of the time it takes to write out an e-mail.
    """

    def _fold(self, name: str, value: str | Header, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= MAX_LINE
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        # Compat32._fold exists at run time but typeshed leaves the private method out.
        folded: str = super()._fold(name, value, sanitize)  # type: ignore[misc]
        return folded


WIRE = _WirePolicy(linesep="\r\n", max_line_length=MAX_LINE)


@functools.lru_cache(maxsize=8)
def sender(mail_from: str) -> tuple[str, str]:
    """The display name and address of ``settings.mail_from``, parsed once: every e-mail
    of a campaign needs them."""
    return parseaddr(mail_from)


def message_id(key: str, mail_from: str) -> str:
    """The Message-ID of the e-mail with this idempotency key: the same on every attempt."""
    domain = sender(mail_from)[1].rpartition("@")[2] or "carebot.local"
    return f"<{_digest(key)}@{domain}>"


def eml_file_name(key: str, mail_from: str) -> str:
    """The file an e-mail is written to when no SMTP server is configured: its Message-ID,
    made safe for a file name. Known from the key alone, so an erasure finds the file."""
    return _UNSAFE.sub("_", message_id(key, mail_from).strip("<>")) + ".eml"


def build_email(
    *,
    key: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    created_at: datetime,
    mail_from: str,
    headers: Mapping[str, str],
) -> Message:
    """The MIME message: text (and HTML) alternatives and the extra ``headers``.

    The MIME boundary comes from the idempotency key, like the Message-ID: a random one
    costs a fresh regular expression per message.
    """
    part = MIMEText(text, "plain", "utf-8")
    message: Message
    if html:
        message = MIMEMultipart("alternative", boundary=f"=_{_digest(key)}")  # no "_" in base64
        message.attach(part)
        message.attach(MIMEText(html, "html", "utf-8"))
    else:
        message = part
    message["From"] = formataddr(sender(mail_from), charset="utf-8")
    message["To"] = recipient
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = message_id(key, mail_from)
    for name, value in headers.items():
        message[name] = value
    return message


def wire_bytes(message: Message) -> bytes:
    """The message as sent: CRLF line ends, header lines unfolded up to RFC 5322's 998."""
    return message.as_bytes(policy=WIRE)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
