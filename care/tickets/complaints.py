"""Tickets: a customer's complaint from filing to resolution, and everything said on it.

A linked customer files a ticket (category, optionally one of their own orders, a
description and/or a photo, a severity). The ticket gets a code from its id
(``KN-000123``), the customer's tier at that moment, and its deadlines (see care.tickets.sla).
Staff claim it, reply, resolve it with a note; every exchange is a ``ComplaintMessage``
that also remembers where it stands in the staff chat, so a Telegram reply to any of
those messages finds the ticket again. Staff see the ticket beside the customer's value:
tier, lifetime value, earlier complaints, the policies already received (the suggested
ones come from care.customers.policies, by tier and segment).

First response time is defined as the time until the customer first hears from a person:
the earlier of the claim (the customer is told who is handling the ticket) and the first
staff reply (or the resolution, if someone resolves without either).

Staff rights are checked here, in the same transaction as the change, not only by the
front end: a press of Claim by someone not in the staff register changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from care.core.db import Database, UnitOfWork
from care.core.models import (
    Complaint,
    ComplaintCategory,
    ComplaintMessage,
    ComplaintStatus,
    Customer,
    CustomerMetrics,
    MessageCategory,
    Order,
    OrderKind,
    OutboxMessage,
    OutboxStatus,
    PolicyGrant,
    Severity,
    Staff,
    Survey,
)
from care.core.queries import OPEN_TICKET_STATUSES, latest_open
from care.core.settings import Settings
from care.core.text import clean, format_duration
from care.outreach import Message, Outbox, enqueue_rows
from care.tickets import sla

CODE_PREFIX = "KN-"
_CODE = re.compile(r"^\s*#?(?:kn)?[-\s]?0*(\d{1,9})\s*$", re.IGNORECASE)
CUSTOMER, STAFF, SYSTEM = "customer", "staff", "system"
OPEN_STATUSES = OPEN_TICKET_STATUSES
CATEGORIES = tuple(c.value for c in ComplaintCategory)
SEVERITIES = tuple(s.value for s in Severity)
RECENT_ORDERS = 5
CODE_TEMPLATE = "complaint_filed"  # the customer's confirmation, with the ticket code
SHOWN_IN_CHAT = "shown_in_chat"  # why the outbox copy of the code was not sent


def ticket_code(complaint_id: int) -> str:
    """``KN-000123``: short enough to read over the phone, sortable, from the id."""
    return f"{CODE_PREFIX}{complaint_id:06d}"


def code_key(complaint_id: int) -> str:
    """The outbox key of the message that tells a customer their ticket's code."""
    return f"ticket-code:{complaint_id}"


def parse_ticket_code(text: str) -> int | None:
    """The id in ``KN-000123``, ``kn123``, ``#123`` or ``123``; None if it is none of them."""
    match = _CODE.match(text or "")
    return int(match.group(1)) if match else None


class ComplaintError(ValueError):
    """A ticket cannot be filed or changed this way (bad category, empty note...)."""


class NotLinked(ComplaintError):
    """Only customers linked to a Telegram account can file from Telegram."""


class Result(StrEnum):
    """How a staff action ended; anything but OK changed nothing."""

    OK = "ok"
    NOT_FOUND = "not_found"
    NOT_STAFF = "not_staff"
    ALREADY_YOURS = "already_yours"
    CLAIMED_BY_OTHER = "claimed_by_other"
    ALREADY_RESOLVED = "already_resolved"
    NOT_RESOLVED = "not_resolved"  # reopening a ticket that is still open


# --- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requester:
    """The linked customer behind a Telegram account, as the intake needs them."""

    customer_id: int
    name: str
    language: str
    tier: str


@dataclass(frozen=True)
class OrderChoice:
    id: int
    code: str
    placed_at: datetime
    amount: int
    status: str


@dataclass(frozen=True)
class Draft:
    """What the intake conversation collected (JSON-friendly, kept in user_data)."""

    category: str
    severity: str
    description: str | None = None
    photo_file_id: str | None = None
    order_id: int | None = None


@dataclass(frozen=True)
class PolicyView:
    policy: str
    note: str | None
    value: int
    granted_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a ticket's history: a message, or an event (claimed, resolved...)."""

    at: datetime
    author: str  # customer, staff or system
    name: str | None
    text: str | None = None
    photo: bool = False
    event: str | None = None  # filed, claimed, resolved, reopened


@dataclass(frozen=True)
class Ticket:
    """A ticket with what staff need beside it: the customer's value and history."""

    id: int
    code: str
    status: str
    category: str
    severity: str
    description: str | None
    photo_file_id: str | None
    created_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    reopened_at: datetime | None
    tier: str
    customer_id: int
    customer_code: str
    customer_name: str
    customer_phone: str | None
    customer_telegram_id: int | None
    customer_language: str
    ltv: int
    earlier_complaints: int
    segment: str | None
    policies: tuple[PolicyView, ...]
    order_code: str | None
    order_amount: int | None
    assignee: str | None
    staff_chat_id: int | None
    staff_card_message_id: int | None
    history: tuple[HistoryEntry, ...] = ()
    staff_photo_message_id: int | None = None  # where the photo stands under the card

    @property
    def is_open(self) -> bool:
        return self.status != ComplaintStatus.RESOLVED

    @property
    def card_missing(self) -> bool:
        """The staff chat lacks its card, or the photo under it."""
        photo_missing = self.photo_file_id is not None and self.staff_photo_message_id is None
        return self.staff_card_message_id is None or photo_missing


@dataclass(frozen=True)
class TicketRow:
    """One line of the open-ticket list."""

    id: int
    code: str
    status: str
    category: str
    severity: str
    tier: str
    created_at: datetime
    customer_name: str
    assignee: str | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    late: bool  # past its first-response or resolution target


@dataclass(frozen=True)
class StaffAction:
    """What a claim, reply or resolve did; ``ticket`` is as it stands afterwards."""

    result: Result
    ticket: Ticket | None = None
    staff_name: str | None = None
    other: str | None = None  # who holds the ticket, when it is someone else
    survey_id: int | None = None
    message_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.result == Result.OK


@dataclass(frozen=True)
class Relay:
    """A customer message stored on their open ticket, to be posted under its card.

    Relayed in a caller's unit of work, the message is stored when the caller commits:
    its ``message_id`` is None until then, and ``attach_staff_message`` notes the staff
    chat's message on it before it is written.
    """

    ticket: Ticket
    message_id: int | None
    unsaved: ComplaintMessage | None = field(default=None, repr=False, compare=False)


# --- the service ---------------------------------------------------------------------------


class ComplaintService:
    """Filing, claiming, replying, resolving and reopening tickets.

    With an ``outbox``, filing also queues the customer's ticket code there (``file``).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Callable[[], datetime],
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.outbox = outbox

    # --- the customer's side ---------------------------------------------------------------

    async def requester(self, telegram_user_id: int) -> Requester | None:
        """The linked customer behind this Telegram account, or None (they must link first)."""
        async with self.db.uow() as uow:
            row = (
                await uow.session.execute(
                    select(Customer, CustomerMetrics.tier)
                    .outerjoin(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                    .where(
                        Customer.telegram_user_id == telegram_user_id,
                        Customer.erased_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                return None
            customer, tier = row
            return Requester(
                customer.id,
                customer.name,
                customer.language,
                sla.tier_or_default(self.settings, tier),
            )

    async def recent_orders(
        self, customer_id: int, limit: int = RECENT_ORDERS
    ) -> list[OrderChoice]:
        """The customer's latest orders (not inquiries), newest first, to pick one from."""
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id, Order.kind == OrderKind.ORDER)
                .order_by(Order.placed_at.desc(), Order.id.desc())
                .limit(limit)
            )
            return [_order_choice(order) for order in rows]

    async def own_order(self, customer_id: int, order_id: int) -> OrderChoice | None:
        """The order if it is this customer's; someone else's looks exactly like none."""
        async with self.db.uow() as uow:
            order = await uow.session.scalar(
                select(Order).where(Order.id == order_id, Order.customer_id == customer_id)
            )
            return _order_choice(order) if order is not None else None

    async def file(self, telegram_user_id: int, draft: Draft) -> Ticket:
        """File a ticket for the linked customer; deadlines from their tier and the severity.

        The customer's ticket code is queued in the outbox in the same transaction, due a
        little later (``ticket_code_fallback_seconds``): the chat shows the code at once
        and then withdraws that copy (``code_shown``); if it cannot, or the bot stops
        first, the dispatcher sends it. So the customer always learns their code.
        """
        if draft.category not in CATEGORIES:
            raise ComplaintError(f"unknown category {draft.category!r}")
        if draft.severity not in SEVERITIES:
            raise ComplaintError(f"unknown severity {draft.severity!r}")
        description = clean(draft.description) if draft.description else None
        if not description and not draft.photo_file_id:
            raise ComplaintError("a ticket needs a description or a photo")
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            customer = await session.scalar(
                select(Customer)
                .options(selectinload(Customer.metrics))
                .where(
                    Customer.telegram_user_id == telegram_user_id,
                    Customer.erased_at.is_(None),
                )
            )
            if customer is None:
                raise NotLinked("this Telegram account is not linked to a customer")
            if draft.order_id is not None:
                owned = await session.scalar(
                    select(Order.id).where(
                        Order.id == draft.order_id, Order.customer_id == customer.id
                    )
                )
                if owned is None:
                    raise ComplaintError("no such order for this customer")
            complaint = await self._open(
                session,
                customer,
                now,
                category=draft.category,
                severity=draft.severity,
                description=description,
                order_id=draft.order_id,
                author=CUSTOMER,
                photo_file_id=draft.photo_file_id,
            )
            await self._queue_code(session, customer, complaint, now)
            await uow.commit()
            complaint_id = complaint.id
        ticket = await self.ticket(complaint_id)
        assert ticket is not None
        return ticket

    def filed_values(self, ticket: Ticket | Complaint, language: str) -> dict[str, Any]:
        """What the ``complaint_filed`` template says about a ticket, in ``language``."""
        assert self.outbox is not None, "the confirmation needs the outbox's renderer"
        label = self.outbox.renderer.label
        due = sla.targets(self.settings, ticket.tier, ticket.severity)
        return {
            "code": ticket.code or ticket_code(ticket.id),
            "category": label(language, f"complaint.category.{ticket.category}"),
            "severity": label(language, f"complaint.severity.{ticket.severity}"),
            "first_response": format_duration(due.first_response, language),
            "first_due": ticket.first_response_due,
            "resolution": format_duration(due.resolution, language),
            "resolution_due": ticket.resolution_due,
        }

    async def _queue_code(
        self, session: AsyncSession, customer: Customer, complaint: Complaint, now: datetime
    ) -> None:
        """The customer's confirmation with the ticket code, in the outbox, due after the
        fallback delay; by e-mail if Telegram cannot reach them."""
        if self.outbox is None:
            return
        renderer = self.outbox.renderer

        def message(language: str) -> Message:
            values = self.filed_values(complaint, language)
            return Message(
                body=renderer.chat(language, CODE_TEMPLATE, **values),
                subject=renderer.label(language, "complaint.code_subject", code=complaint.code),
            )

        placed = self.outbox.plan(
            customer,
            key=code_key(complaint.id),
            category=MessageCategory.TRANSACTIONAL,
            template=CODE_TEMPLATE,
            message=message,
            now=now,
        )
        later = now + timedelta(seconds=self.settings.ticket_code_fallback_seconds)
        placed.row["next_attempt_at"] = max(placed.row["next_attempt_at"], later)
        await enqueue_rows(session, [placed.row])

    async def code_shown(self, complaint_id: int, shown: bool) -> None:
        """The chat showed the customer their ticket code (the outbox copy is withdrawn),
        or could not (the copy is sent now). A copy already on its way is left alone."""
        values: dict[str, Any]
        if shown:
            values = {"status": OutboxStatus.SKIPPED, "skip_reason": SHOWN_IN_CHAT}
        else:
            values = {"next_attempt_at": self.clock()}
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.idempotency_key == code_key(complaint_id),
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(**values)
            )
            await uow.commit()

    async def open_from_survey(
        self, session: AsyncSession, survey: Survey, note: str, now: datetime
    ) -> int:
        """A ticket opened for a customer who rated a delivery badly, in the caller's
        transaction: the staff chat gets a card and the conversation goes through it."""
        customer = await session.get(
            Customer, survey.customer_id, options=[selectinload(Customer.metrics)]
        )
        assert customer is not None
        complaint = await self._open(
            session,
            customer,
            now,
            category=ComplaintCategory.OTHER,
            severity=Severity.MEDIUM,
            description=note,
            order_id=survey.order_id,
            author=SYSTEM,
        )
        survey.complaint_id = complaint.id
        return complaint.id

    async def open_for(
        self,
        customer_code: str,
        staff_telegram_id: int,
        *,
        category: str,
        severity: str,
        description: str,
    ) -> Ticket | StaffAction:
        """Staff open a ticket for a customer who complained outside Telegram (a call, the
        counter); its card reaches the staff chat as any unposted card does. A refusal
        (not staff, no such customer) comes back as a StaffAction."""
        if category not in CATEGORIES:
            raise ComplaintError(f"unknown category {category!r}")
        if severity not in SEVERITIES:
            raise ComplaintError(f"unknown severity {severity!r}")
        description = clean(description)
        if not description:
            raise ComplaintError("a ticket needs a description")
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            staff = await self._staff(session, staff_telegram_id)
            if staff is None:
                return StaffAction(Result.NOT_STAFF)
            customer = await session.scalar(
                select(Customer)
                .options(selectinload(Customer.metrics))
                .where(
                    func.upper(Customer.code) == customer_code.upper(), Customer.erased_at.is_(None)
                )
            )
            if customer is None:
                return StaffAction(Result.NOT_FOUND)
            complaint = await self._open(
                session,
                customer,
                now,
                category=category,
                severity=severity,
                description=description,
                order_id=None,
                author=STAFF,
            )
            await uow.commit()
            complaint_id = complaint.id
        ticket = await self.ticket(complaint_id)
        assert ticket is not None
        return ticket

    async def _open(
        self,
        session: AsyncSession,
        customer: Customer,
        now: datetime,
        *,
        category: str,
        severity: str,
        description: str | None,
        order_id: int | None,
        author: str,
        photo_file_id: str | None = None,
    ) -> Complaint:
        """A new ticket in the caller's transaction: its deadlines from the customer's tier
        (``customer.metrics`` loaded) and the severity, its code, and its first message."""
        tier = sla.tier_or_default(
            self.settings, customer.metrics.tier if customer.metrics else None
        )
        due = sla.targets(self.settings, tier, severity)
        complaint = Complaint(
            customer_id=customer.id,
            order_id=order_id,
            category=category,
            severity=severity,
            description=description,
            status=ComplaintStatus.OPEN,
            tier=tier,
            first_response_due=now + due.first_response,
            resolution_due=now + due.resolution,
            created_at=now,
            updated_at=now,
        )
        session.add(complaint)
        await session.flush()
        complaint.code = ticket_code(complaint.id)
        session.add(
            ComplaintMessage(
                complaint_id=complaint.id,
                author=author,
                text=description,
                photo_file_id=photo_file_id,
                created_at=now,
            )
        )
        if self.outbox is not None:  # integrators subscribed to ticket.created
            await self.outbox.to_webhooks(
                session,
                "ticket.created",
                ref=complaint.code,
                data={
                    "ticket": complaint.code,
                    "customer_code": customer.code,
                    "category": category,
                    "severity": severity,
                    "tier": tier,
                    "first_response_due": complaint.first_response_due,
                    "resolution_due": complaint.resolution_due,
                },
                now=now,
            )
        return complaint

    @staticmethod
    def _open_ticket_query(telegram_user_id: int) -> Any:
        return latest_open(
            select(Complaint.id)
            .join(Customer, Customer.id == Complaint.customer_id)
            .where(Customer.telegram_user_id == telegram_user_id)
        )

    async def customer_message(
        self, telegram_user_id: int, text: str | None, photo_file_id: str | None = None
    ) -> Relay | None:
        """Store what a customer wrote on the ticket open with them; None if there is none."""
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            complaint_id = await session.scalar(self._open_ticket_query(telegram_user_id))
            if complaint_id is None:
                return None
            message = _customer_message(uow, complaint_id, text, photo_file_id, now)
            await uow.commit()
            message_id = message.id
        ticket = await self.ticket(complaint_id)
        assert ticket is not None
        return Relay(ticket, message_id)

    async def relay(
        self,
        complaint_id: int,
        text: str | None,
        photo_file_id: str | None = None,
        *,
        uow: UnitOfWork | None = None,
    ) -> Relay:
        """Store what a customer wrote on their open ticket ``complaint_id`` (as
        ``CustomerService.sender`` found it), with the ticket as staff see it, to post under
        its card."""
        async with self.db.uow(within=uow) as work:
            message = _customer_message(work, complaint_id, text, photo_file_id, self.clock())
            ticket = await self._ticket(work.session, complaint_id)
            assert ticket is not None
            await work.commit()
        if message.id is None:  # waits for the caller's commit
            return Relay(ticket, None, unsaved=message)
        return Relay(ticket, message.id)

    # --- where tickets stand in the staff chat ---------------------------------------------

    async def mark_posted(
        self,
        complaint_id: int,
        chat_id: int,
        card_message_id: int,
        photo_message_id: int | None = None,
    ) -> None:
        """Remember the card (and the photo under it) so replies to them find the ticket."""
        async with self.db.uow() as uow:
            session = uow.session
            await session.execute(
                update(Complaint)
                .where(Complaint.id == complaint_id)
                .values(staff_chat_id=chat_id, staff_card_message_id=card_message_id)
            )
            if photo_message_id is not None:
                first = await session.scalar(
                    select(ComplaintMessage)
                    .where(
                        ComplaintMessage.complaint_id == complaint_id,
                        ComplaintMessage.photo_file_id.is_not(None),
                    )
                    .order_by(ComplaintMessage.id)
                    .limit(1)
                )
                if first is not None:
                    first.staff_chat_message_id = photo_message_id
            await uow.commit()

    async def attach_staff_message(
        self,
        message: int | Relay,
        staff_chat_message_id: int,
        *,
        uow: UnitOfWork | None = None,
    ) -> None:
        """The staff-chat message that shows a stored exchange (for reply mapping)."""
        if isinstance(message, Relay) and message.unsaved is not None:
            message.unsaved.staff_chat_message_id = staff_chat_message_id  # written with it
            return
        message_id = message.message_id if isinstance(message, Relay) else message
        async with self.db.uow(within=uow) as work:
            work.later(
                update(ComplaintMessage)
                .where(ComplaintMessage.id == message_id)
                .values(staff_chat_message_id=staff_chat_message_id)
            )
            await work.commit()

    async def find_by_staff_message(self, staff_chat_message_id: int) -> int | None:
        """The ticket a staff-chat message belongs to: its card or one of its exchanges."""
        async with self.db.uow() as uow:
            session = uow.session
            found = await session.scalar(
                select(Complaint.id).where(Complaint.staff_card_message_id == staff_chat_message_id)
            )
            if found is None:
                found = await session.scalar(
                    select(ComplaintMessage.complaint_id)
                    .where(ComplaintMessage.staff_chat_message_id == staff_chat_message_id)
                    .limit(1)
                )
            return found

    async def unposted_cards(self, limit: int = 50) -> list[int]:
        """Open tickets whose card is not in the staff chat, or whose photo is not under it
        (Telegram did not take them, or the bot stopped first), oldest first."""
        first_photo = (
            select(ComplaintMessage.id)
            .where(
                ComplaintMessage.complaint_id == Complaint.id,
                ComplaintMessage.photo_file_id.is_not(None),
            )
            .order_by(ComplaintMessage.id)
            .limit(1)
            .correlate(Complaint)
            .scalar_subquery()
        )
        photo_missing = exists().where(
            ComplaintMessage.id == first_photo,
            ComplaintMessage.staff_chat_message_id.is_(None),
        )
        async with self.db.uow() as uow:
            found = await uow.session.scalars(
                select(Complaint.id)
                .where(
                    Complaint.status.in_(OPEN_STATUSES),
                    Complaint.staff_card_message_id.is_(None) | photo_missing,
                )
                .order_by(Complaint.created_at, Complaint.id)
                .limit(limit)
            )
            return list(found)

    # --- reading ---------------------------------------------------------------------------

    async def ticket(self, complaint_id: int, *, history: bool = False) -> Ticket | None:
        async with self.db.uow() as uow:
            return await self._ticket(uow.session, complaint_id, history=history)

    async def ticket_by_code(self, code: str, *, history: bool = False) -> Ticket | None:
        complaint_id = parse_ticket_code(code)
        if complaint_id is None:
            return None
        return await self.ticket(complaint_id, history=history)

    async def _ticket(
        self, session: AsyncSession, complaint_id: int, *, history: bool = False
    ) -> Ticket | None:
        options = [
            selectinload(Complaint.customer).selectinload(Customer.metrics),
            selectinload(Complaint.order),
            selectinload(Complaint.claimed_by),
        ]
        if history:
            options.append(selectinload(Complaint.messages))
        complaint = await session.scalar(
            select(Complaint).options(*options).where(Complaint.id == complaint_id)
        )
        if complaint is None:
            return None
        customer = complaint.customer
        earlier = await session.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.customer_id == customer.id, Complaint.id < complaint.id)
        )
        policies = tuple(
            PolicyView(p.policy, p.note, p.value, p.granted_at)
            for p in await session.scalars(
                select(PolicyGrant)
                .where(PolicyGrant.customer_id == customer.id)
                .order_by(PolicyGrant.granted_at, PolicyGrant.id)
            )
        )
        tier = sla.tier_or_default(self.settings, complaint.tier)
        photo, photo_message_id = (
            await session.execute(
                select(ComplaintMessage.photo_file_id, ComplaintMessage.staff_chat_message_id)
                .where(
                    ComplaintMessage.complaint_id == complaint.id,
                    ComplaintMessage.photo_file_id.is_not(None),
                )
                .order_by(ComplaintMessage.id)
                .limit(1)
            )
        ).first() or (None, None)
        entries: tuple[HistoryEntry, ...] = ()
        if history:
            entries = await self._history(session, complaint)
        return Ticket(
            id=complaint.id,
            code=complaint.code or ticket_code(complaint.id),
            status=complaint.status,
            category=complaint.category,
            severity=complaint.severity,
            description=complaint.description,
            photo_file_id=photo,
            created_at=complaint.created_at,
            first_response_due=complaint.first_response_due,
            resolution_due=complaint.resolution_due,
            first_response_at=complaint.first_response_at,
            resolved_at=complaint.resolved_at,
            resolution=complaint.resolution,
            reopened_at=complaint.reopened_at,
            tier=tier,
            customer_id=customer.id,
            customer_code=customer.code,
            customer_name=customer.name,
            customer_phone=customer.phone,
            customer_telegram_id=customer.telegram_user_id,
            customer_language=customer.language,
            ltv=customer.metrics.historical_ltv if customer.metrics else 0,
            earlier_complaints=earlier or 0,
            segment=customer.metrics.segment if customer.metrics else None,
            policies=policies,
            order_code=complaint.order.code if complaint.order else None,
            order_amount=complaint.order.amount if complaint.order else None,
            assignee=complaint.claimed_by.name if complaint.claimed_by else None,
            staff_chat_id=complaint.staff_chat_id,
            staff_card_message_id=complaint.staff_card_message_id,
            history=entries,
            staff_photo_message_id=photo_message_id,
        )

    async def _history(
        self, session: AsyncSession, complaint: Complaint
    ) -> tuple[HistoryEntry, ...]:
        staff_names: dict[int | None, str] = {
            staff_id: name for staff_id, name in await session.execute(select(Staff.id, Staff.name))
        }
        entries = [HistoryEntry(complaint.created_at, SYSTEM, None, event="filed")]
        for message in complaint.messages:
            name = staff_names.get(message.staff_id) if message.staff_id else None
            if message.author == CUSTOMER:
                name = complaint.customer.name
            entries.append(
                HistoryEntry(
                    message.created_at,
                    message.author,
                    name,
                    message.text,
                    photo=message.photo_file_id is not None,
                )
            )
        if complaint.claimed_at is not None:
            entries.append(
                HistoryEntry(
                    complaint.claimed_at,
                    SYSTEM,
                    complaint.claimed_by.name if complaint.claimed_by else None,
                    event="claimed",
                )
            )
        if complaint.resolved_at is not None:
            entries.append(
                HistoryEntry(
                    complaint.resolved_at,
                    SYSTEM,
                    staff_names.get(complaint.resolved_by_id),
                    event="resolved",
                )
            )
        if complaint.reopened_at is not None:
            entries.append(HistoryEntry(complaint.reopened_at, SYSTEM, None, event="reopened"))
        # By time; at the same instant messages come before events (the filing is first).
        return tuple(sorted(entries, key=lambda e: (e.at, e.event not in (None, "filed"))))

    async def open_tickets(self) -> list[TicketRow]:
        """Open tickets, most urgent first: top tier first, then severity, then the oldest."""
        now = self.clock()
        async with self.db.uow() as uow:
            rows = await uow.session.execute(
                select(Complaint, Customer.name, Staff.name)
                .join(Customer, Customer.id == Complaint.customer_id)
                .outerjoin(Staff, Staff.id == Complaint.claimed_by_id)
                .where(Complaint.status.in_(OPEN_STATUSES))
            )
            tickets = [
                TicketRow(
                    id=c.id,
                    code=c.code or ticket_code(c.id),
                    status=c.status,
                    category=c.category,
                    severity=c.severity,
                    tier=sla.tier_or_default(self.settings, c.tier),
                    created_at=c.created_at,
                    customer_name=customer_name,
                    assignee=staff_name,
                    first_response_due=c.first_response_due,
                    resolution_due=c.resolution_due,
                    first_response_at=c.first_response_at,
                    late=sla.first_response_overdue(c, now) or sla.resolution_overdue(c, now),
                )
                for c, customer_name, staff_name in rows
            ]
        return sorted(
            tickets,
            key=lambda t: (
                sla.tier_rank(self.settings, t.tier),
                sla.severity_rank(t.severity),
                t.created_at,
                t.id,
            ),
        )

    # --- the staff's side -------------------------------------------------------------------

    async def _staff(self, session: AsyncSession, telegram_user_id: int) -> Staff | None:
        return await session.scalar(
            select(Staff).where(Staff.telegram_user_id == telegram_user_id, Staff.active.is_(True))
        )

    async def _acting(
        self, session: AsyncSession, complaint_id: int, staff_telegram_id: int
    ) -> tuple[Staff, Complaint] | StaffAction:
        """The staff member and the open ticket they act on, or the refusal to return
        (not staff, no such ticket, already resolved)."""
        staff = await self._staff(session, staff_telegram_id)
        if staff is None:
            return StaffAction(Result.NOT_STAFF)
        complaint = await session.get(Complaint, complaint_id)
        if complaint is None:
            return StaffAction(Result.NOT_FOUND)
        if complaint.status == ComplaintStatus.RESOLVED:
            return StaffAction(
                Result.ALREADY_RESOLVED,
                await self._ticket(session, complaint_id),
                staff_name=staff.name,
            )
        return staff, complaint

    async def claim(self, complaint_id: int, staff_telegram_id: int) -> StaffAction:
        """Take a ticket. Twice, someone else's or resolved: a clear result, nothing changes."""
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            acting = await self._acting(session, complaint_id, staff_telegram_id)
            if isinstance(acting, StaffAction):
                return acting
            staff, complaint = acting
            refusal = await self._cannot_claim(session, complaint, staff)
            if refusal is not None:
                return refusal
            claimed = await session.execute(
                update(Complaint)
                .where(
                    Complaint.id == complaint_id,
                    Complaint.claimed_by_id.is_(None),
                    Complaint.status != ComplaintStatus.RESOLVED,
                )
                .values(
                    claimed_by_id=staff.id,
                    claimed_at=now,
                    status=ComplaintStatus.CLAIMED,
                    first_response_at=func.coalesce(Complaint.first_response_at, now),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]  # typed Result, is a CursorResult
                # Someone claimed it between our read and our write.
                await session.rollback()
                return await self._claim_refusal(complaint_id, staff_telegram_id)
            await uow.commit()
        ticket = await self.ticket(complaint_id)
        return StaffAction(Result.OK, ticket, staff_name=staff.name)

    async def _cannot_claim(
        self, session: AsyncSession, complaint: Complaint, staff: Staff
    ) -> StaffAction | None:
        """Why an open ticket cannot be claimed (someone holds it), or None."""
        if complaint.claimed_by_id == staff.id:
            return StaffAction(
                Result.ALREADY_YOURS,
                await self._ticket(session, complaint.id),
                staff_name=staff.name,
            )
        if complaint.claimed_by_id is not None:
            holder = await session.get(Staff, complaint.claimed_by_id)
            return StaffAction(
                Result.CLAIMED_BY_OTHER,
                await self._ticket(session, complaint.id),
                staff_name=staff.name,
                other=holder.name if holder else None,
            )
        return None

    async def _claim_refusal(self, complaint_id: int, staff_telegram_id: int) -> StaffAction:
        async with self.db.uow() as uow:
            session = uow.session
            acting = await self._acting(session, complaint_id, staff_telegram_id)
            if isinstance(acting, StaffAction):
                return acting
            staff, complaint = acting
            refusal = await self._cannot_claim(session, complaint, staff)
            return refusal or StaffAction(Result.CLAIMED_BY_OTHER)

    async def staff_reply(
        self,
        complaint_id: int,
        staff_telegram_id: int,
        text: str,
        staff_chat_message_id: int | None = None,
        photo_file_id: str | None = None,
    ) -> StaffAction:
        """Store a staff member's answer to the customer, words and/or a photo (the front
        end delivers it)."""
        text = clean(text)
        if not text and not photo_file_id:
            raise ComplaintError("an empty reply")
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            acting = await self._acting(session, complaint_id, staff_telegram_id)
            if isinstance(acting, StaffAction):
                return acting
            staff, complaint = acting
            message = ComplaintMessage(
                complaint_id=complaint_id,
                author=STAFF,
                staff_id=staff.id,
                text=text or None,
                photo_file_id=photo_file_id,
                staff_chat_message_id=staff_chat_message_id,
                created_at=now,
            )
            session.add(message)
            if complaint.first_response_at is None:
                complaint.first_response_at = now
            complaint.updated_at = now
            await uow.commit()
            message_id = message.id
        ticket = await self.ticket(complaint_id)
        return StaffAction(Result.OK, ticket, staff_name=staff.name, message_id=message_id)

    async def resolve(self, complaint_id: int, staff_telegram_id: int, note: str) -> StaffAction:
        """Close a ticket with the note the customer will read, and open its CSAT survey."""
        note = clean(note)
        if not note:
            raise ComplaintError("a resolution needs a note")
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            acting = await self._acting(session, complaint_id, staff_telegram_id)
            if isinstance(acting, StaffAction):
                return acting
            staff, complaint = acting
            resolved = await session.execute(
                update(Complaint)
                .where(Complaint.id == complaint_id, Complaint.status != ComplaintStatus.RESOLVED)
                .values(
                    status=ComplaintStatus.RESOLVED,
                    resolved_by_id=staff.id,
                    resolved_at=now,
                    resolution=note,
                    claimed_by_id=func.coalesce(Complaint.claimed_by_id, staff.id),
                    claimed_at=func.coalesce(Complaint.claimed_at, now),
                    first_response_at=func.coalesce(Complaint.first_response_at, now),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if not resolved.rowcount:  # type: ignore[attr-defined]  # typed Result, is a CursorResult
                name = staff.name
                await session.rollback()
                return StaffAction(
                    Result.ALREADY_RESOLVED, await self.ticket(complaint_id), staff_name=name
                )
            session.add(
                ComplaintMessage(
                    complaint_id=complaint_id,
                    author=STAFF,
                    staff_id=staff.id,
                    text=note,
                    created_at=now,
                )
            )
            survey = Survey(
                customer_id=complaint.customer_id,
                trigger="complaint",
                complaint_id=complaint_id,
                order_id=complaint.order_id,
                status="sent",
                created_at=now,
            )
            session.add(survey)
            await session.flush()
            survey_id = survey.id
            if self.outbox is not None:  # integrators subscribed to ticket.resolved
                customer_code = await session.scalar(
                    select(Customer.code).where(Customer.id == complaint.customer_id)
                )
                await self.outbox.to_webhooks(
                    session,
                    "ticket.resolved",
                    ref=complaint.code or str(complaint_id),
                    data={
                        "ticket": complaint.code,
                        "customer_code": customer_code,
                        "category": complaint.category,
                        "severity": complaint.severity,
                        "resolved_at": now,
                        "resolved_by": staff.name,
                    },
                    now=now,
                )
            await uow.commit()
        ticket = await self.ticket(complaint_id)
        return StaffAction(Result.OK, ticket, staff_name=staff.name, survey_id=survey_id)

    async def reopen(self, complaint_id: int, staff_telegram_id: int, note: str) -> StaffAction:
        """A staff member reopens a resolved ticket, saying why; it goes back to whoever
        held it with a fresh resolution deadline."""
        note = clean(note)
        if not note:
            raise ComplaintError("reopening needs a note")
        async with self.db.uow() as uow:
            staff = await self._staff(uow.session, staff_telegram_id)
            if staff is None:
                return StaffAction(Result.NOT_STAFF)
            if await uow.session.get(Complaint, complaint_id) is None:
                return StaffAction(Result.NOT_FOUND)
            reopened = await self.reopen_in(uow.session, complaint_id, self.clock(), note)
            if reopened is None:
                return StaffAction(Result.NOT_RESOLVED, await self.ticket(complaint_id))
            name = staff.name
            await uow.commit()
        return StaffAction(Result.OK, await self.ticket(complaint_id), staff_name=name)

    async def reopen_in(
        self, session: AsyncSession, complaint_id: int, now: datetime, note: str
    ) -> int | None:
        """Reopen a resolved ticket in the caller's transaction (a low satisfaction score).

        It goes back to whoever held it, with a fresh resolution deadline, and ``note`` is
        added to its history; returns the note's message id, None if it was not resolved.
        """
        complaint = await session.get(Complaint, complaint_id)
        if complaint is None or complaint.status != ComplaintStatus.RESOLVED:
            return None
        target = sla.targets(self.settings, complaint.tier, complaint.severity)
        complaint.status = (
            ComplaintStatus.CLAIMED if complaint.claimed_by_id else ComplaintStatus.OPEN
        )
        complaint.reopened_at = now
        complaint.resolution_due = now + target.resolution
        complaint.resolution_breach_at = None
        complaint.updated_at = now
        message = ComplaintMessage(
            complaint_id=complaint_id, author=SYSTEM, text=note, created_at=now
        )
        session.add(message)
        await session.flush()
        return message.id


def _order_choice(order: Order) -> OrderChoice:
    return OrderChoice(order.id, order.code, order.placed_at, order.amount, order.status)


def _customer_message(
    uow: UnitOfWork,
    complaint_id: int,
    text: str | None,
    photo_file_id: str | None,
    now: datetime,
) -> ComplaintMessage:
    """A customer's message on a ticket, added to ``uow``; the ticket counts as updated."""
    message = ComplaintMessage(
        complaint_id=complaint_id,
        author=CUSTOMER,
        text=clean(text) if text else None,
        photo_file_id=photo_file_id,
        created_at=now,
    )
    uow.session.add(message)
    uow.later(update(Complaint).where(Complaint.id == complaint_id).values(updated_at=now))
    return message
