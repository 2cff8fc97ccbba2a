"""The outbox: every message the system sends on its own is first a row, then a delivery.

A care job, a campaign or a service decides to write to someone and, in the same
transaction as the cause (the delivered order, the campaign start), adds an ``OutboxMessage``
row under an idempotency key such as ``thanks:42`` or ``birthday:7:2027``. Deciding twice is
harmless: the insert is ``ON CONFLICT DO NOTHING`` on the key. The dispatcher
(``scheduler.dispatcher``) sends the rows later and records what happened.

Every message passes the rules of ``care.outreach.rules`` (consent, erasure, reachability,
the frequency cap, quiet hours) before it becomes a pending row.

A message that fails a rule is still written, as status ``skipped`` with a ``skip_reason``,
so every skip is counted and visible, and the key is spent: the scan that decided it does
not decide it again.

It also shapes content: chat bodies are Telegram HTML (checked here, so a staff-written
template fails when it is written, not when it is sent), and the e-mail version of a chat
body is derived from it, with the unsubscribe link and headers RFC 8058 asks for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape as html_escape
from html.parser import HTMLParser
from typing import Any, cast

from markupsafe import Markup
from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from care.core.db import Database, driver_connection
from care.core.keys import Keys
from care.core.models import (
    Channel,
    Customer,
    CustomerKind,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    WebhookSubscription,
)
from care.core.rendering import Renderer, TemplateProblem
from care.core.settings import Settings
from care.outreach.email_message import build_email, wire_bytes
from care.outreach.rules import (
    PREFERENCES,
    Route,
    Skip,
    choose_route,
)
from care.outreach.unsubscribe import UnsubscribeLinks

OPEN_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# Rows that count against the frequency cap: everything not skipped or failed.
CAPPED_STATUSES = (
    OutboxStatus.PENDING,
    OutboxStatus.SENDING,
    OutboxStatus.SENT,
    OutboxStatus.UNCERTAIN,
)

STAFF = "staff"  # the template family of messages to the staff chat
ENQUEUE_CHUNK = 500  # rows handed to the driver at a time (the loop runs between chunks)

TELEGRAM_MAX_LENGTH = 4096


# --- retries -------------------------------------------------------------------------------


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2 x base, 4 x base ..."""
    seconds = settings.outbox_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.outbox_retry_max_seconds))


# --- a row in flight -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    """A snapshot of an outbox row for sending, independent of any session."""

    id: int
    idempotency_key: str
    channel: str
    category: str
    customer_id: int | None
    campaign_id: int | None
    recipient: str
    template: str
    language: str
    subject: str | None
    body: str
    body_html: str | None
    reply_markup: dict[str, Any] | None
    attempts: int
    created_at: datetime
    mime: bytes | None
    edits_message_id: int | None = None

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxRow:
        return cls(**{name: getattr(message, name) for name in cls.__dataclass_fields__})


# --- delivery outcomes (what a channel reports back to the dispatcher) ------------------------


@dataclass(frozen=True)
class Delivered:
    """The remote side accepted the message."""

    detail: str | None = None


@dataclass(frozen=True)
class RetryLater:
    """Not delivered this time; try again after ``after`` seconds (None: the backoff).

    ``counts`` is False when the other side only asked us to slow down (Telegram's 429):
    that attempt does not count towards the maximum.
    """

    error: str
    after: float | None = None
    counts: bool = True


@dataclass(frozen=True)
class Undeliverable:
    """Final: never retried. ``unreachable`` marks the customer's channel as dead
    (the bot was blocked, the mailbox does not exist)."""

    error: str
    reason: str | None = None
    unreachable: bool = False


Outcome = Delivered | RetryLater | Undeliverable


# --- Telegram HTML ------------------------------------------------------------------------

# Telegram's tags that mean the same in e-mail HTML; the others keep only their text there.
_EMAIL_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "blockquote",
    "a",
}
_CHAT_TAGS = _EMAIL_TAGS | {"span", "tg-spoiler", "tg-emoji"}
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _ChatHTML(HTMLParser):
    """Reads Telegram HTML: checks it as Telegram does and keeps the text and the tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []  # plain text, for length and the e-mail text part
        self.html: list[str] = []  # the same content as e-mail HTML
        self.open: list[tuple[str, str | None]] = []

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise TemplateProblem(f"unsupported or unclosed tag near {data[:30]!r}")
        if "&" in data:
            raise TemplateProblem('"&" must be written "&amp;"')
        self._text(data)

    def _text(self, value: str) -> None:
        self.text.append(value)
        self.html.append(html_escape(value, quote=False).replace("\n", "<br>\n"))

    def handle_entityref(self, name: str) -> None:
        if name not in _ENTITIES:
            raise TemplateProblem(f'unsupported HTML entity "&{name};"')
        self._text(_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        self._text(chr(code))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _CHAT_TAGS:
            raise TemplateProblem(f'Telegram does not support the tag "<{tag}>"')
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise TemplateProblem('"<span>" needs class="tg-spoiler"')
        href = attributes.get("href") if tag == "a" else None
        if tag == "a" and not href:
            raise TemplateProblem('a link "<a>" needs an href')
        self.open.append((tag, href))
        if tag == "a":
            self.html.append(f'<a href="{html_escape(href or "")}">')
        elif tag in _EMAIL_TAGS:
            self.html.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TemplateProblem(f'Telegram does not support "<{tag}/>"; use a line break')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise TemplateProblem(f'unexpected end tag "</{tag}>"')
        _, href = self.open.pop()
        if tag in _EMAIL_TAGS:
            self.html.append(f"</{tag}>")
        if href and tag == "a":
            self.text.append(f" ({href})")

    def handle_comment(self, data: str) -> None:
        raise TemplateProblem("Telegram does not support HTML comments")

    def handle_decl(self, decl: str) -> None:
        raise TemplateProblem("Telegram does not support HTML declarations")


def _parse_chat(body: str) -> _ChatHTML:
    parser = _ChatHTML()
    parser.feed(body)
    parser.close()
    if parser.open:
        raise TemplateProblem(f'the tag "<{parser.open[-1][0]}>" is never closed')
    return parser


def check_chat_html(body: str) -> None:
    """Raise TemplateProblem unless Telegram would accept ``body`` in HTML parse mode."""
    parser = _parse_chat(body)
    text = "".join(t for t in parser.text).strip()
    if not text:
        raise TemplateProblem("the message is empty")
    length = len(text.encode("utf-16-le")) // 2
    if length > TELEGRAM_MAX_LENGTH:
        raise TemplateProblem(
            f"the message is {length} characters long; Telegram takes {TELEGRAM_MAX_LENGTH}"
        )


def chat_to_email(body: str) -> tuple[Markup, str]:
    """The e-mail HTML fragment and plain text of a chat body (Telegram HTML)."""
    parser = _parse_chat(body)
    return Markup("".join(parser.html)), "".join(parser.text).strip()  # noqa: S704 - rebuilt by _ChatHTML: known tags, text escaped


# --- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What to say in one language: a chat body (Telegram HTML) and an e-mail subject."""

    body: str
    subject: str
    reply_markup: dict[str, Any] | None = None


MessageFactory = Callable[[str], Message]  # language -> message


WEBHOOK_KEY = "webhook:"


def webhook_key(subscription_id: int, event: str, ref: str) -> str:
    """``webhook:<subscription>:<event>:<ref>``: the subscription is read back from it."""
    return f"{WEBHOOK_KEY}{subscription_id}:{event}:{ref}"


def webhook_subscription_of(key: str) -> int | None:
    """The subscription id in a webhook row's key, or None for another kind of row."""
    if not key.startswith(WEBHOOK_KEY):
        return None
    number = key[len(WEBHOOK_KEY) :].partition(":")[0]
    return int(number) if number.isdigit() else None


def new_row(
    key: str,
    *,
    channel: str,
    category: str,
    recipient: str,
    template: str,
    language: str,
    body: str,
    now: datetime,
    customer_id: int | None = None,
    campaign_id: int | None = None,
    subject: str | None = None,
    body_html: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    mime: bytes | None = None,
    status: str = OutboxStatus.PENDING,
    skip_reason: str | None = None,
    not_before: datetime | None = None,
    edits_message_id: int | None = None,
) -> dict[str, Any]:
    """A new outbox row's column values, every column named so rows insert together:
    pending and due at ``not_before`` (now if not given) unless ``status`` says otherwise."""
    return {
        "idempotency_key": key,
        "channel": str(channel),
        "category": str(category),
        "customer_id": customer_id,
        "campaign_id": campaign_id,
        "recipient": recipient,
        "template": template,
        "language": language,
        "subject": subject[:300] if subject is not None else None,
        "body": body,
        "body_html": body_html,
        "reply_markup": reply_markup,
        "mime": mime,
        "edits_message_id": edits_message_id,
        "status": str(status),
        "skip_reason": skip_reason,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def email_wire(row: Mapping[str, Any], settings: Settings, links: UnsubscribeLinks) -> bytes:
    """The bytes of the e-mail an outbox row (``new_row``'s values) carries, built once
    when it is queued so that every attempt sends the very same message."""
    customer_id = row["customer_id"]
    headers = links.headers(customer_id) if customer_id is not None else {}
    message = build_email(
        key=row["idempotency_key"],
        recipient=row["recipient"],
        subject=row["subject"] or settings.shop_name,
        text=row["body"],
        html=row["body_html"],
        created_at=row["created_at"],
        mail_from=settings.mail_from,
        headers=headers,
    )
    return wire_bytes(message)


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def enqueue_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows, ignoring any whose idempotency key exists; returns how many were new.

    Runs in the caller's transaction, so the rows commit (or roll back) with their cause.
    Thousands of rows (a campaign) must neither hold the event loop nor, on SQLite, the
    database's one write lock for long, as every message a customer sends waits for
    both. So no statement is compiled with the values of hundreds of rows in it (that
    costs a millisecond a row): on SQLite the rows are turned into the driver's values in
    a worker thread and handed to the driver's executemany, which inserts them in C; on
    PostgreSQL one statement compiled once takes them all (SQLAlchemy's
    "insertmanyvalues", the ids coming back tell how many were new).
    """
    if not rows:
        return 0
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        return await _enqueue_sqlite(connection, rows)
    statement = (
        _insert(session)(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.id)
    )
    inserted = 0
    for start in range(0, len(rows), ENQUEUE_CHUNK):
        result = await session.execute(statement, list(rows[start : start + ENQUEUE_CHUNK]))
        inserted += len(result.all())
    return inserted


async def _enqueue_sqlite(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    columns = list(rows[0])
    table = cast(Table, OutboxMessage.__table__)
    dialect = connection.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]

    def values() -> list[tuple[Any, ...]]:
        return [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[name] for name in columns), processors, strict=True)
            )
            for row in rows
        ]

    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)})"  # noqa: S608 - own table and columns
        f" VALUES ({', '.join('?' * len(columns))})"
        " ON CONFLICT (idempotency_key) DO NOTHING"
    )
    driver = await driver_connection(connection)
    prepared = await asyncio.to_thread(values) if len(rows) > ENQUEUE_CHUNK else values()
    inserted = 0
    for start in range(0, len(prepared), ENQUEUE_CHUNK):
        cursor = await driver.executemany(sql, prepared[start : start + ENQUEUE_CHUNK])
        inserted += max(cursor.rowcount, 0)
        await cursor.close()
    return inserted


async def existing_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """Which of these idempotency keys are already spent (to skip rendering them again)."""
    keys = list(keys)
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            await session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(chunk)
                )
            )
        )
    return found


async def recent_marketing_counts(
    session: AsyncSession, customer_ids: Sequence[int], since: datetime
) -> dict[int, int]:
    """Marketing messages per customer queued or sent since ``since`` (the cap's window)."""
    counts: dict[int, int] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = list(customer_ids[start : start + 500])
        result = await session.execute(
            select(OutboxMessage.customer_id, func.count())
            .where(
                OutboxMessage.customer_id.in_(chunk),
                OutboxMessage.category == MessageCategory.MARKETING,
                OutboxMessage.status.in_(CAPPED_STATUSES),
                OutboxMessage.created_at >= since,
            )
            .group_by(OutboxMessage.customer_id)
        )
        counts.update({customer_id: count for customer_id, count in result if customer_id})
    return counts


@dataclass(frozen=True)
class Placed:
    """One message planned: the outbox row and the route (or the skip) the rules chose."""

    row: dict[str, Any]
    route: Route | Skip


class Outbox:
    """Turns decisions to write to someone into outbox rows, applying the rules."""

    def __init__(self, settings: Settings, renderer: Renderer, db: Database, keys: Keys) -> None:
        self.settings = settings
        self.renderer = renderer
        self.db = db
        self.keys = keys
        self.links = UnsubscribeLinks(settings, keys)

    def greeting_name(self, customer: Customer) -> str:
        """How a message addresses the customer: the contact person of an organization."""
        if customer.kind == CustomerKind.ORGANIZATION and customer.contact_person:
            return customer.contact_person
        return customer.name

    def plan(
        self,
        customer: Customer,
        *,
        key: str,
        category: str,
        template: str,
        message: MessageFactory,
        now: datetime,
        preference: str = "telegram",
        recent_marketing: int = 0,
        campaign_id: int | None = None,
        quiet: bool | None = None,
        due: datetime | None = None,
    ) -> Placed:
        """The row for one message to one customer (rules applied, content rendered);
        with ``due``, sent no earlier than that (quiet hours then apply at ``due``)."""
        route = choose_route(
            customer,
            category,
            now=max(due, now) if due is not None else now,
            settings=self.settings,
            preference=preference,
            recent_marketing=recent_marketing,
            quiet=quiet,
        )
        if isinstance(route, Skip):
            return self.skipped(
                customer,
                key=key,
                category=category,
                template=template,
                reason=route.reason,
                now=now,
                preference=preference,
                campaign_id=campaign_id,
            )
        language = self.renderer.language(customer.language)
        content = message(language)
        common: dict[str, Any] = {
            "category": category,
            "recipient": route.recipient,
            "template": template,
            "language": language,
            "now": now,
            "not_before": route.not_before,
            "customer_id": customer.id,
            "campaign_id": campaign_id,
        }
        if route.channel == Channel.EMAIL:
            row = self.email_row(key, content=content, **common)
        else:
            row = new_row(
                key,
                channel=route.channel,
                subject=content.subject,
                body=content.body,
                reply_markup=content.reply_markup,
                **common,
            )
        return Placed(row, route)

    def skipped(
        self,
        customer: Customer,
        *,
        key: str,
        category: str,
        template: str,
        reason: str,
        now: datetime,
        preference: str = "telegram",
        campaign_id: int | None = None,
    ) -> Placed:
        """The row recording that a message was not sent, and why (nothing is rendered)."""
        row = new_row(
            key,
            channel=PREFERENCES.get(preference, (Channel.TELEGRAM,))[0],
            category=category,
            recipient="",
            template=template,
            language=self.renderer.language(customer.language),
            body="",
            now=now,
            customer_id=customer.id,
            campaign_id=campaign_id,
            status=OutboxStatus.SKIPPED,
            skip_reason=reason,
        )
        return Placed(row, Skip(reason))

    def email_row(
        self,
        key: str,
        *,
        content: Message,
        customer_id: int,
        recipient: str,
        category: str,
        template: str,
        language: str,
        now: datetime,
        not_before: datetime | None = None,
        campaign_id: int | None = None,
    ) -> dict[str, Any]:
        """The outbox row carrying a chat message by e-mail: text and HTML with the
        unsubscribe link (a chat message's buttons have no e-mail form), and the bytes
        that will go on the wire."""
        subject, text, html = self.email_parts(customer_id, language, content)
        row = new_row(
            key,
            channel=Channel.EMAIL,
            category=category,
            recipient=recipient,
            template=template,
            language=language,
            subject=subject,
            body=text,
            body_html=html,
            now=now,
            not_before=not_before,
            customer_id=customer_id,
            campaign_id=campaign_id,
        )
        row["mime"] = email_wire(row, self.settings, self.links)
        return row

    def email_parts(
        self, customer_id: int, language: str, content: Message
    ) -> tuple[str, str, str]:
        """Subject, text and HTML of the e-mail carrying a chat message, unsubscribe included."""
        fragment, text = chat_to_email(content.body)
        email = self.renderer.email(
            language,
            "care_message",
            subject=content.subject,
            body=fragment,
            body_text=text,
            shop_name=self.settings.shop_name,
            unsubscribe_url=self.links.url(customer_id),
        )
        return email.subject, email.text, email.html

    async def to_customer(
        self,
        session: AsyncSession,
        customer: Customer,
        *,
        key: str,
        category: str,
        template: str,
        message: MessageFactory,
        now: datetime,
        preference: str = "telegram",
        campaign_id: int | None = None,
        quiet: bool | None = None,
        due: datetime | None = None,
    ) -> Placed | None:
        """Queue one message to a customer in the caller's transaction, to be sent from
        ``due`` on (now if not given).

        Returns None when the key was spent already (nothing rendered, nothing written).
        """
        if await existing_keys(session, [key]):
            return None
        recent = 0
        if category == MessageCategory.MARKETING:
            since = now - timedelta(days=self.settings.frequency_cap_days)
            recent = (await recent_marketing_counts(session, [customer.id], since)).get(
                customer.id, 0
            )
        placed = self.plan(
            customer,
            key=key,
            category=category,
            template=template,
            message=message,
            now=now,
            preference=preference,
            recent_marketing=recent,
            campaign_id=campaign_id,
            quiet=quiet,
            due=due,
        )
        inserted = await enqueue_rows(session, [placed.row])
        return placed if inserted else None

    async def to_staff(self, session: AsyncSession, *, key: str, body: str, now: datetime) -> bool:
        """Queue a message to the staff chat (no consent, no quiet hours); False if no chat."""
        chat = self.settings.staff_chat_id
        if chat is None:
            return False
        return await self._to_staff_chat(session, key=key, chat_id=chat, body=body, now=now)

    async def to_staff_member(
        self,
        session: AsyncSession,
        *,
        key: str,
        telegram_user_id: int,
        body: str,
        now: datetime,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue a message to one staff member's private chat with the bot, due at
        ``not_before`` (a reminder of a planned contact); False if the key was spent."""
        return await self._to_staff_chat(
            session,
            key=key,
            chat_id=telegram_user_id,
            body=body,
            now=now,
            not_before=max(not_before, now) if not_before is not None else None,
        )

    async def withdraw(self, session: AsyncSession, key: str, reason: str) -> bool:
        """Take back a message not yet sent (a reminder of a contact done early); False if
        it is gone or on its way already."""
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key == key,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SKIPPED, skip_reason=reason)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def edit_staff_message(
        self,
        session: AsyncSession,
        *,
        key: str,
        chat_id: int,
        message_id: int,
        body: str,
        now: datetime,
    ) -> bool:
        """Queue the replacement of the text of a message the bot posted in a staff chat
        (a ticket's card once its customer is erased); False if the key was spent."""
        return await self._to_staff_chat(
            session, key=key, chat_id=chat_id, body=body, now=now, edits_message_id=message_id
        )

    async def _to_staff_chat(
        self,
        session: AsyncSession,
        *,
        key: str,
        chat_id: int,
        body: str,
        now: datetime,
        not_before: datetime | None = None,
        edits_message_id: int | None = None,
    ) -> bool:
        """Queue a staff message on Telegram (no consent, no quiet hours); False if the
        key was spent."""
        check_chat_html(body)
        row = new_row(
            key,
            channel=Channel.TELEGRAM,
            category=MessageCategory.TRANSACTIONAL,
            recipient=str(chat_id),
            template=STAFF,
            language=self.settings.default_language,
            body=body,
            now=now,
            not_before=not_before,
            edits_message_id=edits_message_id,
        )
        return bool(await enqueue_rows(session, [row]))

    async def to_webhooks(
        self,
        session: AsyncSession,
        event: str,
        *,
        ref: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> int:
        """Queue ``event`` for every active subscription to it, in the caller's transaction
        (so an event is told if and only if its cause is committed). ``ref`` names what it
        is about (a ticket's code...), making the key: an event is told once per
        subscription. The payload carries codes, never personal data."""
        subscriptions = [
            subscription
            for subscription in await session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
            )
            if event in (subscription.events or [])
        ]
        if not subscriptions:
            return 0
        payload = json.dumps(
            {
                "id": f"{event}:{ref}",
                "event": event,
                "occurred_at": now.isoformat(),
                "data": dict(data),
            },
            ensure_ascii=False,
            default=str,
        )
        rows = [
            new_row(
                webhook_key(subscription.id, event, ref),
                channel=Channel.WEBHOOK,
                category=MessageCategory.TRANSACTIONAL,
                recipient=subscription.url,
                template=event,
                language=self.settings.default_language,
                body=payload,
                now=now,
            )
            for subscription in subscriptions
        ]
        return await enqueue_rows(session, rows)

    async def unsubscribe(self, token: str) -> bool:
        """Withdraw e-mail consent for the customer a link names (one click, at once)."""
        customer_id = self.links.read(token)
        if customer_id is None:
            return False
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                update(Customer).where(Customer.id == customer_id).values(consent_email=False)
            )
            await uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
