"""Erasure that erases: a customer's personal data leaves every table and every file.

Asked for by the customer (/forgetme) or by the shop on their behalf (``carebot customer
forget CODE``), one transaction:

* the customer record keeps its code, kind, region, language and dates, nothing that
  names or reaches the person (name, phone, e-mail, address, birthday, occupation, size,
  habits, Telegram account);
* everything they said and everything said to or about them loses its words: the
  interaction log (their chat, the ticket cards and relayed messages in the staff chat,
  staff replies), ticket descriptions, messages and resolutions, survey comments, policy
  notes, order notes, the outbox (queued messages are not sent; sent ones keep their
  outcome, not their content or address), unanswered FAQ questions and link codes are
  deleted, and what the bot remembers of their conversations (``bot_state``);
* any other text that still names them (a staff member quoting their phone number, a
  deadline alert with their name) has the name, phone number and e-mail address replaced;
* the ticket cards and the other messages the bot posted about them in the staff chat are
  edited to say the customer was erased, through the outbox like every message the
  system sends on its own.

After the commit, the e-mails written as .eml files under OUTBOX_DIR are removed and
SQLite's write-ahead log is truncated (``Database.release_old_pages``). Orders keep their
code, dates, amounts, margins, lines and payment terms: the shop's books need them
(README, "Erasure", says what is kept and why). The send journal under OUTBOX_DIR/journal
holds outbox row numbers and times only, never content, and is removed once its group of
messages is settled.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import escape
from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.models import (
    AccountManager,
    BotState,
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Contact,
    Customer,
    Direction,
    FaqConfirmation,
    Interaction,
    LinkCode,
    Order,
    OutboxMessage,
    OutboxStatus,
    PolicyGrant,
    Survey,
    UnansweredQuestion,
    faq_asker_key,
)
from care.core.rendering import Renderer, TemplateProblem
from care.core.settings import Settings
from care.core.text import fold, phone_spellings
from care.outreach import OPEN_STATUSES, SKIP_ERASED, Outbox, check_chat_html, eml_file_name

ERASED_NAME = "Đã xoá"
ERASED_MARK = "[đã xoá]"  # what replaces the customer's name, phone or e-mail in other texts
CARD_TEMPLATE = "ticket_card_erased"
MESSAGE_TEMPLATE = "staff_message_erased"
STAFF_AUTHOR = "staff"  # care.tickets' author of a staff member's ticket message

PERSONAL_FIELDS = (
    "contact_person",
    "phone",
    "email",
    "address",
    "birthday",
    "occupation",
    "purchase_habits",
    "size",
    "telegram_user_id",
)

# Free-text columns where someone may have written a customer's name, phone or e-mail.
MESSAGE_COLUMNS = (
    Interaction.text,
    ComplaintMessage.text,
    Complaint.description,
    Complaint.resolution,
    Survey.comment,
    UnansweredQuestion.text,
    FaqConfirmation.text,
    PolicyGrant.note,
    Order.notes,
    Order.payment_terms,
    OutboxMessage.recipient,
    OutboxMessage.subject,
    OutboxMessage.body,
    OutboxMessage.body_html,
    OutboxMessage.last_error,
)


@dataclass(frozen=True)
class Erased:
    """What one erasure did: counts for the shop, and the files to remove after commit."""

    customer_id: int
    customer_code: str
    interactions: int
    tickets: int
    outbox_rows: int
    mentions: int  # texts elsewhere that named the customer, rewritten
    staff_chat_edits: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class _Target:
    """A message the bot posted to staff about the customer, to be edited: a ticket's card,
    a message wholly about them (replaced by a note), or one that names them among other
    things (a deadline alert, a ticket list: the same text with the names replaced)."""

    chat_id: int
    message_id: int
    card_of: str | None = None  # the ticket code, when the message is its card
    rewritten: str | None = None  # the message's HTML with the mentions replaced


def mentions_of(customer: Customer) -> list[str]:
    """How the customer's identity may be written in a text, longest first: name, contact
    person and address (when distinctive enough not to hit common words), each also as
    HTML shows it; every spelling of the phone number; the e-mail address."""
    found: set[str] = set()
    for value in (customer.name, customer.contact_person, customer.address):
        if value and _distinctive(value):
            found |= {value, str(escape(value))}
    if customer.phone:
        found |= phone_spellings(customer.phone)
    if customer.email:
        found |= {customer.email, customer.email.lower(), str(escape(customer.email))}
    return sorted(found, key=len, reverse=True)


def _distinctive(value: str) -> bool:
    """Two words or more, or eight characters: "Nguyễn Thị Lan", not "Lan" (which would
    also be cut out of "Lan can" and every other Lan's messages)."""
    value = value.strip()
    return len(value.split()) >= 2 or len(value) >= 8


async def erase(
    session: AsyncSession,
    customer: Customer,
    *,
    now: datetime,
    settings: Settings,
    renderer: Renderer,
    outbox: Outbox,
) -> Erased:
    """Erase one customer in the caller's transaction; the caller commits, then removes
    ``Erased.files`` (``remove_files``) and releases the database's old pages."""
    customer_id = customer.id
    telegram_id = customer.telegram_user_id
    mentions = mentions_of(customer)
    complaints = (
        await session.execute(
            select(
                Complaint.id,
                Complaint.code,
                Complaint.staff_chat_id,
                Complaint.staff_card_message_id,
            ).where(Complaint.customer_id == customer_id)
        )
    ).all()
    targets, staff_replies = await _staff_chat_messages(session, customer_id, complaints, mentions)
    files = await _email_files(session, customer_id, settings)

    _scrub_record(customer, now)
    interactions = await _scrub_interactions(session, customer_id, telegram_id, staff_replies)
    await _scrub_tickets(session, customer_id, now)
    outbox_rows = await _scrub_outbox(session, customer_id)
    await session.execute(
        delete(UnansweredQuestion).where(UnansweredQuestion.customer_id == customer_id)
    )
    await session.execute(delete(LinkCode).where(LinkCode.customer_id == customer_id))
    await _forget_contacts(session, customer_id)
    if telegram_id is not None:
        await session.execute(delete(LinkCode).where(LinkCode.telegram_user_id == telegram_id))
        await session.execute(
            delete(FaqConfirmation).where(FaqConfirmation.asker == faq_asker_key(telegram_id))
        )
        await _forget_conversations(session, telegram_id)
    rewritten = await _rewrite_mentions(session, mentions)
    edits = await _edit_staff_chat(
        session, targets, now=now, settings=settings, renderer=renderer, outbox=outbox
    )
    # Integrators holding the customer's data erase it too: only the code is sent.
    await outbox.to_webhooks(
        session,
        "customer.erased",
        ref=str(customer_id),
        data={"customer_code": customer.code, "erased_at": now},
        now=now,
    )
    return Erased(
        customer_id=customer_id,
        customer_code=customer.code,
        interactions=interactions,
        tickets=len(complaints),
        outbox_rows=outbox_rows,
        mentions=rewritten,
        staff_chat_edits=edits,
        files=files,
    )


async def _forget_contacts(session: AsyncSession, customer_id: int) -> None:
    """Contacts with the customer go, and their reminders to staff (which name them) are
    emptied, sent or not."""
    ids = list(await session.scalars(select(Contact.id).where(Contact.customer_id == customer_id)))
    if ids:
        keys = [f"contact:{i}" for i in ids]
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.in_(keys),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SKIPPED, skip_reason="erased")
        )
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys)).values(body="")
        )
        await session.execute(delete(Contact).where(Contact.customer_id == customer_id))
    await session.execute(delete(AccountManager).where(AccountManager.customer_id == customer_id))


def remove_files(paths: Iterable[Path]) -> int:
    """Remove the erased customer's .eml files (and a half-written one); how many went."""
    removed = 0
    for path in paths:
        for candidate in (path, path.with_suffix(".tmp")):
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()
                removed += candidate == path
    return removed


# --- the steps -------------------------------------------------------------------------------


def _scrub_record(customer: Customer, now: datetime) -> None:
    for name in PERSONAL_FIELDS:
        setattr(customer, name, None)
    customer.name = ERASED_NAME
    customer.consent_telegram = False
    customer.consent_email = False
    customer.erased_at = now
    customer.updated_at = now


async def _staff_chat_messages(
    session: AsyncSession, customer_id: int, complaints: Sequence[Any], mentions: list[str]
) -> tuple[list[_Target], list[tuple[int, int]]]:
    """The bot's messages to staff about the customer or naming them (to edit), and the
    staff members' own replies on their tickets (whose logged copies lose their words)."""
    targets: dict[tuple[int, int], _Target] = {}
    for complaint in complaints:
        if complaint.staff_chat_id is not None and complaint.staff_card_message_id is not None:
            key = (complaint.staff_chat_id, complaint.staff_card_message_id)
            targets[key] = _Target(*key, card_of=complaint.code)
    chats = {c.id: c.staff_chat_id for c in complaints if c.staff_chat_id is not None}
    staff_replies: list[tuple[int, int]] = []
    if chats:
        posted = await session.execute(
            select(
                ComplaintMessage.complaint_id,
                ComplaintMessage.author,
                ComplaintMessage.staff_chat_message_id,
            ).where(
                ComplaintMessage.complaint_id.in_(list(chats)),
                ComplaintMessage.staff_chat_message_id.is_not(None),
            )
        )
        for complaint_id, author, message_id in posted:
            key = (chats[complaint_id], _known(message_id))
            if author == STAFF_AUTHOR:  # a staff member's own message: the bot cannot edit it
                staff_replies.append(key)
            else:
                targets.setdefault(key, _Target(*key))
    logged = await session.execute(
        select(Interaction.chat_id, Interaction.message_id).where(
            Interaction.customer_id == customer_id,
            Interaction.internal.is_(True),
            Interaction.direction == Direction.OUTBOUND,
            Interaction.chat_id.is_not(None),
            Interaction.message_id.is_not(None),
        )
    )
    for chat_id, message_id in logged:
        key = (_known(chat_id), _known(message_id))
        targets.setdefault(key, _Target(*key))
    if mentions:
        naming = await session.execute(
            select(Interaction.chat_id, Interaction.message_id, Interaction.text)
            .where(
                Interaction.internal.is_(True),
                Interaction.direction == Direction.OUTBOUND,
                Interaction.chat_id.is_not(None),
                Interaction.message_id.is_not(None),
                or_(*(Interaction.text.contains(m, autoescape=True) for m in mentions)),
            )
            .order_by(Interaction.id)  # a message edited later: its latest text wins
        )
        rewritten: dict[tuple[int, int], str] = {}
        for chat_id, message_id, text in naming:
            rewritten[(_known(chat_id), _known(message_id))] = _replace(text or "", mentions)
        for key, text in rewritten.items():
            targets.setdefault(key, _Target(*key, rewritten=text))
    return list(targets.values()), staff_replies


def _known(value: int | None) -> int:
    """A column the query selected as NOT NULL: the type of the row cannot say so."""
    assert value is not None
    return value


def _replace(text: str, mentions: list[str]) -> str:
    for mention in mentions:  # longest first, like the SQL rewrite
        text = text.replace(mention, ERASED_MARK)
    return text


async def _email_files(
    session: AsyncSession, customer_id: int, settings: Settings
) -> tuple[Path, ...]:
    """The .eml files the customer's e-mails were written to (when no SMTP server is set)."""
    keys = await session.scalars(
        select(OutboxMessage.idempotency_key).where(
            OutboxMessage.customer_id == customer_id, OutboxMessage.channel == Channel.EMAIL
        )
    )
    return tuple(settings.outbox_dir / eml_file_name(key, settings.mail_from) for key in keys)


async def _scrub_interactions(
    session: AsyncSession,
    customer_id: int,
    telegram_id: int | None,
    staff_replies: list[tuple[int, int]],
) -> int:
    """Their own conversation (also what they said before linking) loses its words and
    its Telegram ids; staff-chat copies about them and staff replies on their tickets
    lose their words."""
    own: ColumnElement[bool] = Interaction.customer_id == customer_id
    if telegram_id is not None:
        own = or_(own, Interaction.telegram_user_id == telegram_id)
    result = await session.execute(
        update(Interaction)
        .where(Interaction.internal.is_(False), own)
        .values(
            customer_id=customer_id, text=None, telegram_user_id=None, chat_id=None, message_id=None
        )
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    about: ColumnElement[bool] = Interaction.customer_id == customer_id
    if staff_replies:
        about = or_(about, tuple_(Interaction.chat_id, Interaction.message_id).in_(staff_replies))
    result = await session.execute(
        update(Interaction)
        .where(Interaction.internal.is_(True), about)
        .values(customer_id=customer_id, text=None)
    )
    return count + (result.rowcount or 0)  # type: ignore[attr-defined]


async def _scrub_tickets(session: AsyncSession, customer_id: int, now: datetime) -> None:
    """Tickets keep their category, severity, times and codes, not their words. One still
    open is closed: nobody is left to answer."""
    complaint_ids = select(Complaint.id).where(Complaint.customer_id == customer_id)
    await session.execute(
        update(ComplaintMessage)
        .where(ComplaintMessage.complaint_id.in_(complaint_ids))
        .values(text=None, photo_file_id=None)
    )
    await session.execute(
        update(Complaint)
        .where(Complaint.customer_id == customer_id)
        .values(description=None, resolution=None)
    )
    await session.execute(
        update(Complaint)
        .where(Complaint.customer_id == customer_id, Complaint.status != ComplaintStatus.RESOLVED)
        .values(status=ComplaintStatus.RESOLVED, resolved_at=now, updated_at=now)
    )
    await session.execute(
        update(Survey).where(Survey.customer_id == customer_id).values(comment=None)
    )
    await session.execute(
        update(PolicyGrant).where(PolicyGrant.customer_id == customer_id).values(note=None)
    )
    await session.execute(update(Order).where(Order.customer_id == customer_id).values(notes=None))


async def _scrub_outbox(session: AsyncSession, customer_id: int) -> int:
    """Queued messages are not sent; every message keeps its outcome, not its content."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.customer_id == customer_id, OutboxMessage.status.in_(OPEN_STATUSES))
        .values(status=OutboxStatus.SKIPPED, skip_reason=SKIP_ERASED)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.customer_id == customer_id)
        .values(
            recipient="",
            subject=None,
            body="",
            body_html=None,
            reply_markup=None,
            mime=None,
            last_error=None,
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def _forget_conversations(session: AsyncSession, telegram_id: int) -> None:
    """What the bot remembers of the person's chat: drafts (a registration's name and
    phone, a complaint's words) and where their conversations stand."""
    key = str(telegram_id)
    await session.execute(
        delete(BotState).where(BotState.kind.in_(("user", "chat")), BotState.key == key)
    )
    await session.execute(
        delete(BotState).where(
            BotState.kind.startswith("conversation:"),
            BotState.key == json.dumps([telegram_id, telegram_id]),
        )
    )


async def _rewrite_mentions(session: AsyncSession, mentions: list[str]) -> int:
    """Replace every spelling of the customer's identity in the texts of everyone else."""
    if not mentions:
        return 0
    rewritten = 0
    for column in (*MESSAGE_COLUMNS, UnansweredQuestion.folded):
        forms = mentions
        if column is UnansweredQuestion.folded:
            forms = sorted({fold(m) for m in mentions if fold(m)}, key=len, reverse=True)
        value: Any = column
        for form in forms:
            value = func.replace(value, form, ERASED_MARK)
        result = await session.execute(
            update(column.class_)
            .where(or_(*(column.contains(form, autoescape=True) for form in forms)))
            .values({column.key: value})
            .execution_options(synchronize_session=False)
        )
        rewritten += result.rowcount or 0  # type: ignore[attr-defined]
    return rewritten


async def _edit_staff_chat(
    session: AsyncSession,
    targets: list[_Target],
    *,
    now: datetime,
    settings: Settings,
    renderer: Renderer,
    outbox: Outbox,
) -> int:
    """Queue the edits that replace the bot's messages about the customer in staff chats."""
    language = settings.default_language
    queued = 0
    note = renderer.chat(language, MESSAGE_TEMPLATE, at=now)
    for target in targets:
        if target.card_of is not None:
            body = renderer.chat(language, CARD_TEMPLATE, code=target.card_of, at=now)
        elif target.rewritten is not None and _is_chat_html(target.rewritten):
            body = target.rewritten
        else:
            body = note
        queued += await outbox.edit_staff_message(
            session,
            key=f"erased:{target.chat_id}:{target.message_id}",
            chat_id=target.chat_id,
            message_id=target.message_id,
            body=body,
            now=now,
        )
    return queued


def _is_chat_html(body: str) -> bool:
    """A rewritten message is still something Telegram takes (else the note replaces it)."""
    try:
        check_chat_html(body)
    except TemplateProblem:
        return False
    return True
