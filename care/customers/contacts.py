"""Contacts with customers outside the bot, and the schedule of care contacts.

Staff record a call, a visit, a meeting, a message or a plain note (from the console, the
staff chat's ``/note`` or ``carebot contact log``), and plan follow-ups: a planned contact
has a time and a staff member, who gets a reminder in their private chat with the bot at
that time (an outbox row due then, taken back if the contact is done or cancelled first).

The weekly plan books a contact with every customer of a tier that has gone too long
without one (``contact_interval_days``: diamond every 30 days, gold every 90 by default),
for their account manager, spread over the working days of the week.
"""

from __future__ import annotations

import builtins
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    AccountManager,
    Contact,
    ContactKind,
    ContactStatus,
    Customer,
    CustomerMetrics,
    Staff,
)
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import clean, to_local
from care.outreach import SKIP_CANCELLED, Outbox

MAX_CONTACT_NOTE = 2000
WORKING_DAYS = 5

# Words staff may start a /note with to say how they were in touch.
KIND_WORDS = {
    "call": ContactKind.CALL,
    "gọi": ContactKind.CALL,
    "goi": ContactKind.CALL,
    "visit": ContactKind.VISIT,
    "thăm": ContactKind.VISIT,
    "tham": ContactKind.VISIT,
    "meeting": ContactKind.MEETING,
    "meet": ContactKind.MEETING,
    "gặp": ContactKind.MEETING,
    "gap": ContactKind.MEETING,
    "message": ContactKind.MESSAGE,
    "nhắn": ContactKind.MESSAGE,
    "nhan": ContactKind.MESSAGE,
    "note": ContactKind.NOTE,
}


class ContactProblem(ValueError):
    """A contact that cannot be recorded or changed; the message is fit to show."""


@dataclass(frozen=True)
class ContactView:
    id: int
    customer_id: int
    customer_code: str
    customer_name: str
    staff_id: int | None
    staff_name: str | None
    kind: str
    status: str
    due_at: datetime | None
    done_at: datetime | None
    note: str | None
    outcome: str | None
    reason: str
    source: str

    @property
    def at(self) -> datetime | None:
        """When it happened, or is due."""
        return self.done_at or self.due_at


@dataclass
class WeeklyPlan:
    """The contacts due in one week, per staff member (None: nobody to give them to)."""

    week_start: date
    planned: int  # booked by this run
    by_staff: dict[str | None, builtins.list[ContactView]]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.by_staff.values())


def split_kind(text: str) -> tuple[str, str]:
    """A /note's text: the kind its first word names (``gọi``, ``visit``...) and the rest;
    a note that names none is a plain note."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower().rstrip(":") in KIND_WORDS:
        return KIND_WORDS[words[0].lower().rstrip(":")], words[1] if len(words) > 1 else ""
    return ContactKind.NOTE, text.strip()


def reminder_key(contact_id: int) -> str:
    return f"contact:{contact_id}"


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _clean_note(text: str | None) -> str | None:
    if text is None:
        return None
    text = clean(text)
    if len(text) > MAX_CONTACT_NOTE:
        raise ContactProblem(f"a note has at most {MAX_CONTACT_NOTE} characters")
    return text or None


def _kind(kind: str) -> str:
    if kind not in {k.value for k in ContactKind}:
        names = ", ".join(k.value for k in ContactKind)
        raise ContactProblem(f"unknown contact kind {kind!r}; use one of {names}")
    return kind


class Contacts:
    """Records and plans contacts; books the weekly plan; reminds staff of what is due."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        outbox: Outbox,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.outbox = outbox
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    # --- recording -------------------------------------------------------------------------

    async def log(
        self,
        customer_id: int,
        *,
        kind: str,
        note: str | None,
        outcome: str | None = None,
        staff_id: int | None = None,
        at: datetime | None = None,
        source: str = "cli",
    ) -> ContactView:
        """Record a contact that took place (now unless ``at`` says when)."""
        kind = _kind(kind)
        note, outcome = _clean_note(note), _clean_note(outcome)
        if not note and not outcome:
            raise ContactProblem("say what was said: a note or an outcome")
        now = self.clock()
        if at is not None and at > now + timedelta(minutes=5):
            raise ContactProblem("a contact that took place cannot be in the future; plan it")
        async with self.db.uow() as uow:
            await self._customer(uow.session, customer_id)
            contact = Contact(
                customer_id=customer_id,
                staff_id=staff_id,
                kind=kind,
                status=ContactStatus.DONE,
                done_at=at or now,
                note=note,
                outcome=outcome,
                source=source,
                created_at=now,
            )
            uow.session.add(contact)
            await uow.session.flush()
            view = await self._view(uow.session, contact)
            await uow.commit()
        return view

    async def plan(
        self,
        customer_id: int,
        *,
        due_at: datetime,
        staff_id: int | None = None,
        kind: str = ContactKind.CALL,
        note: str | None = None,
        reason: str = "manual",
        source: str = "cli",
        follow_up_of: int | None = None,
    ) -> ContactView:
        """Plan a contact; its staff member (the account manager when none is named) is
        reminded on Telegram at its time."""
        kind = _kind(kind)
        note = _clean_note(note)
        now = self.clock()
        if due_at < now - timedelta(minutes=5):
            raise ContactProblem("a planned contact is in the future")
        async with self.db.uow() as uow:
            s = uow.session
            await self._customer(s, customer_id)
            if staff_id is None:
                staff_id = await s.scalar(
                    select(AccountManager.staff_id).where(AccountManager.customer_id == customer_id)
                )
            contact = await self._book(
                s,
                customer_id,
                staff_id=staff_id,
                due_at=due_at,
                kind=kind,
                note=note,
                reason=reason,
                source=source,
                now=now,
                follow_up_of=follow_up_of,
            )
            view = await self._view(s, contact)
            await uow.commit()
        return view

    async def book_in(
        self,
        session: AsyncSession,
        customer_id: int,
        *,
        due_at: datetime,
        reason: str,
        note: str | None,
        now: datetime,
    ) -> Contact | None:
        """Plan a call for the customer's account manager in the caller's transaction (an
        alert that needs a human); None if one is planned already."""
        open_one = await session.scalar(
            select(Contact.id).where(
                Contact.customer_id == customer_id, Contact.status == ContactStatus.PLANNED
            )
        )
        if open_one is not None:
            return None
        staff_id = await session.scalar(
            select(AccountManager.staff_id).where(AccountManager.customer_id == customer_id)
        )
        return await self._book(
            session,
            customer_id,
            staff_id=staff_id,
            due_at=due_at,
            kind=ContactKind.CALL,
            note=note,
            reason=reason,
            source="system",
            now=now,
        )

    async def _book(
        self,
        s: AsyncSession,
        customer_id: int,
        *,
        staff_id: int | None,
        due_at: datetime,
        kind: str,
        note: str | None,
        reason: str,
        source: str,
        now: datetime,
        follow_up_of: int | None = None,
    ) -> Contact:
        contact = Contact(
            customer_id=customer_id,
            staff_id=staff_id,
            kind=kind,
            status=ContactStatus.PLANNED,
            due_at=due_at,
            note=note,
            reason=reason,
            source=source,
            follow_up_of_id=follow_up_of,
            created_at=now,
        )
        s.add(contact)
        await s.flush()
        await self._remind(s, contact, now)
        return contact

    async def _remind(self, s: AsyncSession, contact: Contact, now: datetime) -> None:
        if contact.staff_id is None or contact.due_at is None:
            return
        staff = await s.get(Staff, contact.staff_id)
        customer = await s.get(Customer, contact.customer_id)
        if staff is None or not staff.active or customer is None:
            return
        language = self.settings.default_language
        body = self.renderer.chat(
            language,
            "contact_reminder",
            customer=customer,
            kind=self.renderer.label(language, f"contact.kind.{contact.kind}"),
            reason=self.renderer.label_or(
                language, f"contact.reason.{contact.reason}", contact.reason
            ),
            due_at=contact.due_at,
            note=contact.note,
            contact_id=contact.id,
        )
        lead = timedelta(minutes=self.settings.contact_reminder_minutes)
        await self.outbox.to_staff_member(
            s,
            key=reminder_key(contact.id),
            telegram_user_id=staff.telegram_user_id,
            body=body,
            now=now,
            not_before=contact.due_at - lead,
        )

    async def complete(
        self,
        contact_id: int,
        *,
        outcome: str,
        note: str | None = None,
        staff_id: int | None = None,
    ) -> ContactView:
        """A planned contact took place: its outcome is recorded, its reminder withdrawn."""
        outcome_text = _clean_note(outcome)
        if not outcome_text:
            raise ContactProblem("say how it went: an outcome")
        async with self.db.uow() as uow:
            contact = await self._planned(uow.session, contact_id)
            contact.status = ContactStatus.DONE
            contact.done_at = self.clock()
            contact.outcome = outcome_text
            if note:
                contact.note = _clean_note(note)
            if staff_id is not None:
                contact.staff_id = staff_id
            await self.outbox.withdraw(uow.session, reminder_key(contact.id), SKIP_CANCELLED)
            view = await self._view(uow.session, contact)
            await uow.commit()
        return view

    async def cancel(self, contact_id: int) -> ContactView:
        async with self.db.uow() as uow:
            contact = await self._planned(uow.session, contact_id)
            contact.status = ContactStatus.CANCELLED
            await self.outbox.withdraw(uow.session, reminder_key(contact.id), SKIP_CANCELLED)
            view = await self._view(uow.session, contact)
            await uow.commit()
        return view

    async def assign(self, customer_id: int, staff_id: int) -> None:
        """Make a staff member the customer's account manager (planned contacts follow)."""
        async with self.db.uow() as uow:
            s = uow.session
            await self._customer(s, customer_id)
            row = await s.get(AccountManager, customer_id)
            if row is None:
                s.add(AccountManager(customer_id=customer_id, staff_id=staff_id))
            else:
                row.staff_id, row.assigned_at = staff_id, self.clock()
            await uow.commit()

    # --- reading ---------------------------------------------------------------------------

    async def list(
        self,
        *,
        customer_id: int | None = None,
        staff_id: int | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[ContactView]:
        """Contacts, newest first (planned ones by their time, soonest first when only
        planned ones are asked for)."""
        at = func.coalesce(Contact.done_at, Contact.due_at)
        query = select(Contact, Customer.code, Customer.name, Staff.name).join(
            Customer, Customer.id == Contact.customer_id
        )
        query = query.outerjoin(Staff, Staff.id == Contact.staff_id)
        if customer_id is not None:
            query = query.where(Contact.customer_id == customer_id)
        if staff_id is not None:
            query = query.where(Contact.staff_id == staff_id)
        if status is not None:
            query = query.where(Contact.status == status)
        if since is not None:
            query = query.where(at >= since)
        if until is not None:
            query = query.where(at < until)
        order = at.asc() if status == ContactStatus.PLANNED else at.desc()
        query = query.order_by(order, Contact.id).limit(limit)
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
            return [_view_of(c, code, name, staff) for c, code, name, staff in rows]

    async def timeline(self, customer_id: int, limit: int = 10) -> Sequence[ContactView]:
        """A customer's contacts for the card: planned ones first, then the latest done."""
        planned = await self.list(
            customer_id=customer_id, status=ContactStatus.PLANNED, limit=limit
        )
        done = await self.list(customer_id=customer_id, status=ContactStatus.DONE, limit=limit)
        return (planned + done)[:limit]

    # --- the weekly plan -------------------------------------------------------------------

    async def plan_week(self, week_start: date | None = None) -> WeeklyPlan:
        """Book a contact with every customer due for one in the week (by tier), for their
        account manager (given one in turn when they have none), and show the week.

        Running it twice books nothing more: a customer with a planned contact is not due.
        """
        now = self.clock()
        today = to_local(now, self.zone).date()
        start = week_start_of(week_start or today)
        end = start + timedelta(days=7)
        intervals = self.settings.contact_interval_days
        booked = 0
        async with self.db.uow() as uow:
            s = uow.session
            staff_ids = list(
                await s.scalars(select(Staff.id).where(Staff.active.is_(True)).order_by(Staff.id))
            )
            turn = itertools.cycle(staff_ids) if staff_ids else None
            due = await self._due(s, intervals, end)
            slots: dict[int | None, int] = defaultdict(int)
            for customer_id, manager in due:
                if manager is None and turn is not None:
                    manager = next(turn)
                    s.add(AccountManager(customer_id=customer_id, staff_id=manager))
                due_at = self._slot(start, today, slots[manager])
                slots[manager] += 1
                await self._book(
                    s,
                    customer_id,
                    staff_id=manager,
                    due_at=due_at,
                    kind=ContactKind.CALL,
                    note=None,
                    reason="schedule",
                    source="system",
                    now=now,
                )
                booked += 1
            await uow.commit()
        since = datetime.combine(start, time(0), tzinfo=self.zone)
        until = datetime.combine(end, time(0), tzinfo=self.zone)
        week = await self.list(status=ContactStatus.PLANNED, since=since, until=until, limit=10_000)
        by_staff: dict[str | None, builtins.list[ContactView]] = defaultdict(builtins.list)
        for view in week:
            by_staff[view.staff_name].append(view)
        return WeeklyPlan(week_start=start, planned=booked, by_staff=dict(by_staff))

    async def _due(
        self, s: AsyncSession, intervals: dict[str, int], end: date
    ) -> Sequence[tuple[int, int | None]]:
        """(customer id, account manager) of customers due for a contact before ``end``."""
        if not intervals:
            return []
        last_done = (
            select(Contact.customer_id, func.max(Contact.done_at).label("last"))
            .where(Contact.status == ContactStatus.DONE)
            .group_by(Contact.customer_id)
            .subquery()
        )
        planned = select(Contact.customer_id).where(Contact.status == ContactStatus.PLANNED)
        rows = (
            await s.execute(
                select(Customer.id, CustomerMetrics.tier, last_done.c.last, AccountManager.staff_id)
                .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                .outerjoin(last_done, last_done.c.customer_id == Customer.id)
                .outerjoin(AccountManager, AccountManager.customer_id == Customer.id)
                .where(
                    Customer.erased_at.is_(None),
                    CustomerMetrics.tier.in_(list(intervals)),
                    Customer.id.not_in(planned),
                )
                .order_by(CustomerMetrics.monetary.desc(), Customer.id)
            )
        ).all()
        end_at = datetime.combine(end, time(0), tzinfo=self.zone)
        due = []
        for customer_id, tier, last, manager in rows:
            if last is None or last + timedelta(days=intervals[tier]) <= end_at:
                due.append((customer_id, manager))
        return due

    def _slot(self, start: date, today: date, index: int) -> datetime:
        """The ``index``-th free hour of the week for one staff member, from today on."""
        hours = self.settings.contact_hours or [9]
        first_day = max((today - start).days, 0) if today >= start else 0
        days = max(WORKING_DAYS - first_day, 1)
        day = start + timedelta(days=first_day + index % days)
        hour = hours[(index // days) % len(hours)]
        return datetime.combine(day, time(hour), tzinfo=self.zone)

    # --- helpers ---------------------------------------------------------------------------

    async def _customer(self, s: AsyncSession, customer_id: int) -> Customer:
        customer = await s.get(Customer, customer_id)
        if customer is None or customer.erased_at is not None:
            raise ContactProblem("no such customer")
        return customer

    async def _planned(self, s: AsyncSession, contact_id: int) -> Contact:
        contact = await s.get(Contact, contact_id)
        if contact is None:
            raise ContactProblem(f"no contact #{contact_id}")
        if contact.status != ContactStatus.PLANNED:
            raise ContactProblem(f"contact #{contact_id} is {contact.status}, not planned")
        return contact

    async def _view(self, s: AsyncSession, contact: Contact) -> ContactView:
        customer = await s.get(Customer, contact.customer_id)
        staff = await s.get(Staff, contact.staff_id) if contact.staff_id else None
        assert customer is not None
        return _view_of(contact, customer.code, customer.name, staff.name if staff else None)


def _view_of(c: Contact, code: str, name: str, staff: str | None) -> ContactView:
    return ContactView(
        id=c.id,
        customer_id=c.customer_id,
        customer_code=code,
        customer_name=name,
        staff_id=c.staff_id,
        staff_name=staff,
        kind=c.kind,
        status=c.status,
        due_at=c.due_at,
        done_at=c.done_at,
        note=c.note,
        outcome=c.outcome,
        reason=c.reason,
        source=c.source,
    )
