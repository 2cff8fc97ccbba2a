"""A customer's profile as they and the staff keep it: who is behind a Telegram account,
language, e-mail, birthday and consent, and the staff's corrections.

Nothing here knows Telegram: callers pass the Telegram user id as a plain number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database, UnitOfWork
from care.core.models import Customer
from care.core.rendering import LANGUAGES, Renderer
from care.core.settings import Settings
from care.core.text import (
    clean,
    normalise_email,
    normalise_phone,
    parse_date,
    to_local,
)
from care.outreach import Outbox

NAME_MAX = 200
CONSENT_CHANNELS = ("telegram", "email")


class InvalidInput(ValueError):
    """Something the customer typed cannot be used; ``reason`` names what to tell them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CustomerView:
    """What the business holds about a customer, as the customer may see it."""

    id: int
    code: str
    kind: str
    name: str
    contact_person: str | None
    phone: str | None
    email: str | None
    address: str | None
    region: str | None
    birthday: date | None
    language: str
    consent_telegram: bool
    consent_email: bool
    telegram_user_id: int | None
    erased_at: datetime | None = None

    @classmethod
    def of(cls, customer: Customer) -> CustomerView:
        return cls(**{name: getattr(customer, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Sender:
    """Who is behind a Telegram account, as a chat message needs to know: the linked
    customer (None if none) and the ticket open with them (None if none)."""

    customer: CustomerView | None
    open_ticket_id: int | None = None


def parse_email(text: str) -> str:
    """An address a customer typed, as it is stored (see normalise_email), or
    InvalidInput("email")."""
    try:
        return normalise_email(text)
    except ValueError as exc:
        raise InvalidInput("email") from exc


def parse_birthday(text: str, today: date) -> date:
    """A birthday typed as dd/mm/yyyy: not in the future and not before 1900."""
    try:
        value = parse_date(text)
    except ValueError as exc:
        raise InvalidInput("birthday_format") from exc
    if value > today:
        raise InvalidInput("birthday_future")
    if value.year < 1900:
        raise InvalidInput("birthday_format")
    return value


def parse_name(text: str) -> str:
    name = clean(text)
    if len(name) < 2 or len(name) > NAME_MAX or not any(ch.isalpha() for ch in name):
        raise InvalidInput("name")
    return name


async def customer_by_code(session: AsyncSession, code: str) -> Customer | None:
    """The customer with this code (any case), erased or not."""
    return await session.scalar(
        select(Customer).where(func.upper(Customer.code) == clean(code).upper())
    )


async def linked_customer(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    """The live customer this Telegram account is linked to."""
    return await session.scalar(
        select(Customer).where(
            Customer.telegram_user_id == telegram_user_id, Customer.erased_at.is_(None)
        )
    )


class Profile:
    """The profile part of ``CustomerService``."""

    db: Database
    settings: Settings
    renderer: Renderer
    outbox: Outbox
    clock: Callable[[], datetime]
    _sender_query: Any

    # --- finding -----------------------------------------------------------------------

    async def by_telegram(
        self, telegram_user_id: int, *, uow: UnitOfWork | None = None
    ) -> CustomerView | None:
        """The customer this Telegram account is linked to, if any (in ``uow`` if given)."""
        async with self.db.uow(within=uow) as work:
            customer = await linked_customer(work.session, telegram_user_id)
            return CustomerView.of(customer) if customer else None

    async def sender(self, telegram_user_id: int, *, uow: UnitOfWork | None = None) -> Sender:
        """The customer linked to this Telegram account and their open ticket, in one query
        (the bot asks once per update, before any handler)."""
        async with self.db.uow(within=uow) as work:
            row = (
                await work.session.execute(
                    self._sender_query, {"telegram_user_id": telegram_user_id}
                )
            ).first()
        if row is None:
            return Sender(None)
        *values, ticket_id = row
        return Sender(CustomerView(*values), ticket_id)

    # --- the profile -------------------------------------------------------------------

    async def set_language(self, telegram_user_id: int, language: str) -> bool:
        """Remember the chosen language on the record, so e-mails and care messages use it."""
        if language not in LANGUAGES:
            raise InvalidInput("language")
        return await self._update(telegram_user_id, language=language) is not None

    async def set_email(self, telegram_user_id: int, text: str) -> CustomerView | None:
        """Store a validated e-mail address; InvalidInput("email") for a malformed one."""
        email = parse_email(text)
        return await self._update(telegram_user_id, email=email, email_unreachable=False)

    async def set_birthday(self, telegram_user_id: int, text: str) -> CustomerView | None:
        """Store a birthday typed dd/mm/yyyy; future dates and nonsense are refused."""
        return await self._update(telegram_user_id, birthday=parse_birthday(text, self.today()))

    def today(self) -> date:
        """The shop's date now: a birthday is in the future by local, not UTC, reckoning."""
        return to_local(self.clock(), self.settings.timezone).date()

    async def toggle_consent(self, telegram_user_id: int, channel: str) -> CustomerView | None:
        """Flip promotions on one channel; e-mail promotions need an address first."""
        if channel not in CONSENT_CHANNELS:
            raise InvalidInput("channel")
        field = f"consent_{channel}"
        async with self.db.uow() as uow:
            customer = await linked_customer(uow.session, telegram_user_id)
            if customer is None:
                return None
            turning_on = not getattr(customer, field)
            if channel == "email" and turning_on and not customer.email:
                raise InvalidInput("no_email")
            setattr(customer, field, turning_on)
            customer.updated_at = self.clock()
            view = CustomerView.of(customer)
            await uow.commit()
            return view

    async def set_consent(self, code: str, channel: str, value: bool) -> CustomerView | None:
        """Staff record a customer's consent given or withdrawn outside Telegram (at the
        counter, by phone); None for an unknown or erased customer."""
        if channel not in CONSENT_CHANNELS:
            raise InvalidInput("channel")
        async with self.db.uow() as uow:
            customer = await customer_by_code(uow.session, code)
            if customer is None or customer.erased_at is not None:
                return None
            if channel == "email" and value and not customer.email:
                raise InvalidInput("no_email")
            setattr(customer, f"consent_{channel}", value)
            customer.updated_at = self.clock()
            view = CustomerView.of(customer)
            await uow.commit()
            return view

    async def edit_profile(self, code: str, values: dict[str, str]) -> CustomerView | None:
        """Staff correct a customer's profile: name, contact person, phone (any format, kept
        E.164), e-mail, address, region, occupation. Every value is checked before any is
        written; the first bad one raises InvalidInput naming its field."""
        changes: dict[str, Any] = {}
        for field, raw in values.items():
            text = clean(raw)
            if field == "name":
                changes[field] = parse_name(text)
            elif field == "phone":
                try:
                    changes[field] = normalise_phone(text) if text else None
                except ValueError as exc:
                    raise InvalidInput("phone") from exc
            elif field == "email":
                changes[field] = parse_email(text) if text else None
            elif field in ("contact_person", "address", "region", "occupation"):
                if len(text) > 200:
                    raise InvalidInput(field)
                changes[field] = text or None
            else:
                raise InvalidInput(field)
        async with self.db.uow() as uow:
            customer = await customer_by_code(uow.session, code)
            if customer is None or customer.erased_at is not None:
                return None
            for field, value in changes.items():
                setattr(customer, field, value)
            if not customer.email:
                customer.consent_email = False  # no address, no e-mail promotions
            customer.updated_at = self.clock()
            view = CustomerView.of(customer)
            await uow.commit()
            return view

    async def stop_all(self, telegram_user_id: int) -> CustomerView | None:
        """Every kind of marketing off at once.

        Promotions already queued are not sent either: the dispatcher checks consent again
        when it sends.
        """
        return await self._update(telegram_user_id, consent_telegram=False, consent_email=False)

    async def _update(self, telegram_user_id: int, **values: Any) -> CustomerView | None:
        async with self.db.uow() as uow:
            customer = await linked_customer(uow.session, telegram_user_id)
            if customer is None:
                return None
            for name, value in values.items():
                setattr(customer, name, value)
            customer.updated_at = self.clock()
            view = CustomerView.of(customer)
            await uow.commit()
            return view

    async def by_code(self, code: str) -> CustomerView | None:
        """The customer with this code (any case), erased or not; None if there is none."""
        async with self.db.uow() as uow:
            customer = await customer_by_code(uow.session, code)
            return CustomerView.of(customer) if customer else None
