"""Customers serving themselves: linking a Telegram account, their profile, consent, privacy.

A Telegram account is tied to a customer record in one of three ways: the customer
shares their own phone contact and the number matches a record; no record matches and
they register; or they know their customer code and prove it with a one-time code sent
to the e-mail address on file. Once linked, they can see and correct what the business
holds, choose which promotions they receive, take a copy of their data, and have their
personal data erased (orders stay, anonymous, for the statistics).

Nothing here knows Telegram: callers pass the Telegram user id as a plain number.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from care.core.db import Database, UnitOfWork
from care.core.models import (
    Complaint,
    Customer,
    CustomerKind,
    Interaction,
    LinkCode,
    MessageCategory,
    Order,
    OutboxMessage,
    PolicyGrant,
    Survey,
)
from care.core.queries import latest_open_ticket
from care.core.rendering import LANGUAGES, Renderer
from care.core.settings import Settings
from care.core.text import (
    as_utc,
    clean,
    normalise_email,
    normalise_phone,
    parse_date,
    to_local,
    utcnow,
)
from care.customers.erasure import Erased, erase, remove_files
from care.outreach import Message, Outbox, Skip

CODE_DIGITS = 6
# One-time codes a Telegram account may ask for in a day: enough for a typo or two,
# too few to guess a code by asking again and again.
LINK_CODES_PER_DAY = 5
LINK_CODE_TEMPLATE = "link_code_email"
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


class LinkOutcome(StrEnum):
    LINKED = "linked"  # linked now
    ALREADY = "already"  # this Telegram account was linked already (to ``customer``)
    TAKEN = "taken"  # the record is linked to another Telegram account
    NO_MATCH = "no_match"  # no record has this phone number
    INVALID_PHONE = "invalid_phone"


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome
    customer: CustomerView | None = None
    phone: str | None = None  # the normalised number, for registering after NO_MATCH


class CodeRequest(StrEnum):
    SENT = "sent"  # a code is on its way to the address on file (or was sent moments ago)
    # Unknown customer code, no usable e-mail on file, or an erased record: one answer
    # for all, so the answer tells nobody more than "no code was sent".
    UNAVAILABLE = "unavailable"
    TOO_MANY = "too_many"  # this Telegram account asked for too many codes today
    # This customer got ``link_code_emails_per_day`` code e-mails today, whoever asked:
    # nobody can fill a customer's mailbox with codes by using several Telegram accounts.
    CUSTOMER_LIMIT = "customer_limit"
    ALREADY = "already"  # this Telegram account is linked already


class CodeOutcome(StrEnum):
    LINKED = "linked"
    WRONG = "wrong"  # ``tries_left`` more tries
    MALFORMED = "malformed"  # not a code at all; no try used
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"  # too many wrong tries: ask for a new code
    NO_CODE = "no_code"  # nothing was requested (or the code was used)
    TAKEN = "taken"
    ALREADY = "already"


@dataclass(frozen=True)
class CodeResult:
    outcome: CodeOutcome
    tries_left: int = 0
    customer: CustomerView | None = None


def hash_code(code: str, salt: str | None = None) -> str:
    """``salt$sha256(salt:code)``: the code itself is never stored."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def code_matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_code(code, salt), stored)


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


class CustomerService:
    """Linking, registration and the customer's own view and control of their data."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        outbox: Outbox,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.clock = clock
        self.outbox = outbox
        # Built once: the bot runs it for every update, and building it costs more than
        # running it.
        self._sender_query = select(
            *(getattr(Customer, name) for name in CustomerView.__dataclass_fields__),
            latest_open_ticket(Customer.id),
        ).where(
            Customer.telegram_user_id == bindparam("telegram_user_id"),
            Customer.erased_at.is_(None),
        )

    # --- finding -----------------------------------------------------------------------

    async def by_telegram(
        self, telegram_user_id: int, *, uow: UnitOfWork | None = None
    ) -> CustomerView | None:
        """The customer this Telegram account is linked to, if any (in ``uow`` if given)."""
        async with self.db.uow(within=uow) as work:
            customer = await _linked(work.session, telegram_user_id)
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

    # --- linking -----------------------------------------------------------------------

    async def link_by_phone(self, telegram_user_id: int, phone: str) -> LinkResult:
        """Link the account to the record with this (normalised) phone number.

        The caller has checked that the phone is the sender's own. A record already
        linked to another Telegram account is never taken over.
        """
        try:
            e164 = normalise_phone(phone)
        except ValueError:
            return LinkResult(LinkOutcome.INVALID_PHONE)
        async with self.db.uow() as uow:
            session = uow.session
            mine = await _linked(session, telegram_user_id)
            if mine is not None:
                return LinkResult(LinkOutcome.ALREADY, CustomerView.of(mine), e164)
            matches = (
                await session.scalars(
                    select(Customer)
                    .where(Customer.phone == e164, Customer.erased_at.is_(None))
                    .order_by(Customer.id)
                )
            ).all()
            if not matches:
                return LinkResult(LinkOutcome.NO_MATCH, phone=e164)
            free = [c for c in matches if c.telegram_user_id is None]
            if not free:
                return LinkResult(LinkOutcome.TAKEN, phone=e164)
            customer = free[0]
            return await self._link(uow, customer, telegram_user_id, e164)

    async def _link(
        self, uow: UnitOfWork, customer: Customer, telegram_user_id: int, phone: str | None = None
    ) -> LinkResult:
        """Tie the account to the record and commit; a race lost to another account is TAKEN."""
        customer.telegram_user_id = telegram_user_id
        customer.telegram_unreachable = False
        # What the person said before linking becomes part of the customer's history
        # (what they did as staff does not: it is internal).
        await uow.session.execute(
            update(Interaction)
            .where(
                Interaction.telegram_user_id == telegram_user_id,
                Interaction.customer_id.is_(None),
                Interaction.internal.is_(False),
            )
            .values(customer_id=customer.id)
        )
        try:
            await uow.commit()
        except IntegrityError:  # linked by someone else a moment ago
            await uow.rollback()
            return LinkResult(LinkOutcome.TAKEN, phone=phone)
        return LinkResult(LinkOutcome.LINKED, CustomerView.of(customer), phone)

    async def register(
        self,
        telegram_user_id: int,
        *,
        name: str,
        phone: str,
        email: str | None = None,
        birthday: date | None = None,
        language: str = "vi",
    ) -> LinkResult:
        """A new customer from Telegram, linked at once; values were checked while asked.

        Raises InvalidInput for a bad name, phone or e-mail. A phone that meanwhile
        belongs to a record is not registered twice (TAKEN or ALREADY).
        """
        name = parse_name(name)
        try:
            e164 = normalise_phone(phone)
        except ValueError as exc:
            raise InvalidInput("phone") from exc
        email = parse_email(email) if email else None
        async with self.db.uow() as uow:
            session = uow.session
            mine = await _linked(session, telegram_user_id)
            if mine is not None:
                return LinkResult(LinkOutcome.ALREADY, CustomerView.of(mine), e164)
            existing = await session.scalar(
                select(Customer.id).where(Customer.phone == e164, Customer.erased_at.is_(None))
            )
            if existing is not None:
                return LinkResult(LinkOutcome.TAKEN, phone=e164)
            now = self.clock()
            customer = Customer(
                code=f"new-{uuid.uuid4().hex}",
                kind=CustomerKind.INDIVIDUAL,
                name=name,
                phone=e164,
                email=email,
                birthday=birthday,
                language=language if language in LANGUAGES else self.settings.default_language,
                source="telegram",
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            await session.flush()
            customer.code = f"TG-{customer.id:06d}"
            return await self._link(uow, customer, telegram_user_id, e164)

    async def request_link_code(self, telegram_user_id: int, customer_code: str) -> CodeRequest:
        """E-mail a one-time code to the address on file for this customer code.

        Only a hash is kept. A code asked for again while the last one is still usable is
        not sent twice: the earlier e-mail holds a working code. A Telegram account gets
        ``LINK_CODES_PER_DAY`` codes a day, a customer ``link_code_emails_per_day`` code
        e-mails, whichever accounts ask.
        """
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            if await _linked(session, telegram_user_id) is not None:
                return CodeRequest.ALREADY
            customer = await session.scalar(
                select(Customer).where(
                    func.upper(Customer.code) == clean(customer_code).upper(),
                    Customer.erased_at.is_(None),
                )
            )
            if customer is None or not customer.email or customer.email_unreachable:
                return CodeRequest.UNAVAILABLE
            codes = (
                await session.scalars(
                    select(LinkCode).where(
                        LinkCode.telegram_user_id == telegram_user_id,
                        LinkCode.created_at >= now - timedelta(days=1),
                    )
                )
            ).all()
            for row in codes:
                if (
                    row.customer_id == customer.id
                    and row.used_at is None
                    and as_utc(row.expires_at) > now
                    and row.attempts < self.settings.link_code_max_attempts
                ):
                    # Keep it the latest, so the code in that e-mail is the one checked.
                    row.created_at = now
                    await uow.commit()
                    return CodeRequest.SENT
            if len(codes) >= LINK_CODES_PER_DAY:
                return CodeRequest.TOO_MANY
            if await self._code_emails_today(session, customer.id, now) >= (
                self.settings.link_code_emails_per_day
            ):
                return CodeRequest.CUSTOMER_LIMIT
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            link = LinkCode(
                customer_id=customer.id,
                telegram_user_id=telegram_user_id,
                code_hash=hash_code(code),
                expires_at=now + timedelta(minutes=self.settings.link_code_ttl_minutes),
                created_at=now,
            )
            session.add(link)
            await session.flush()
            placed = await self.outbox.to_customer(
                session,
                customer,
                key=f"linkcode:{link.id}",
                category=MessageCategory.TRANSACTIONAL,
                template=LINK_CODE_TEMPLATE,
                message=self._code_message(customer, code),
                now=now,
                preference="email_only",
            )
            if placed is None or isinstance(placed.route, Skip):
                return CodeRequest.UNAVAILABLE  # rolled back: no code, no e-mail
            await uow.commit()
            return CodeRequest.SENT

    @staticmethod
    async def _code_emails_today(session: AsyncSession, customer_id: int, now: datetime) -> int:
        """Code e-mails queued for this customer in the last 24 hours, for any account."""
        return (
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.customer_id == customer_id,
                    OutboxMessage.template == LINK_CODE_TEMPLATE,
                    OutboxMessage.created_at >= now - timedelta(days=1),
                )
            )
            or 0
        )

    def _code_message(self, customer: Customer, code: str) -> Callable[[str], Message]:
        minutes = self.settings.link_code_ttl_minutes

        def build(language: str) -> Message:
            values = {
                "name": self.outbox.greeting_name(customer),
                "code": code,
                "minutes": minutes,
                "shop_name": self.settings.shop_name,
            }
            return Message(
                body=self.renderer.chat(language, LINK_CODE_TEMPLATE, **values),
                subject=self.renderer.label(language, "link.code_email_subject", **values),
            )

        return build

    async def verify_link_code(self, telegram_user_id: int, text: str) -> CodeResult:
        """Check a typed one-time code against the latest one sent to this account."""
        digits = "".join(ch for ch in text if not ch.isspace())
        now = self.clock()
        limit = self.settings.link_code_max_attempts
        async with self.db.uow() as uow:
            session = uow.session
            if await _linked(session, telegram_user_id) is not None:
                return CodeResult(CodeOutcome.ALREADY)
            link = await session.scalar(
                select(LinkCode)
                .where(LinkCode.telegram_user_id == telegram_user_id, LinkCode.used_at.is_(None))
                .order_by(LinkCode.created_at.desc(), LinkCode.id.desc())
                .limit(1)
            )
            if link is None:
                return CodeResult(CodeOutcome.NO_CODE)
            if not (digits.isdigit() and len(digits) == CODE_DIGITS):
                return CodeResult(CodeOutcome.MALFORMED, limit - link.attempts)
            if link.attempts >= limit:
                return CodeResult(CodeOutcome.EXHAUSTED)
            if as_utc(link.expires_at) <= now:
                return CodeResult(CodeOutcome.EXPIRED)
            if not code_matches(digits, link.code_hash):
                link.attempts += 1
                await uow.commit()
                left = limit - link.attempts
                return CodeResult(CodeOutcome.WRONG if left > 0 else CodeOutcome.EXHAUSTED, left)
            link.used_at = now
            # The code is spent: the e-mail that carried it keeps no copy in the outbox.
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.idempotency_key == f"linkcode:{link.id}")
                .values(body="", body_html=None, mime=None)
            )
            customer = await session.get(Customer, link.customer_id)
            if customer is None or customer.erased_at is not None:
                await uow.commit()
                return CodeResult(CodeOutcome.NO_CODE)
            if customer.telegram_user_id is not None:
                await uow.commit()
                return CodeResult(CodeOutcome.TAKEN)
            result = await self._link(uow, customer, telegram_user_id)
            if result.outcome != LinkOutcome.LINKED:
                return CodeResult(CodeOutcome.TAKEN)
            return CodeResult(CodeOutcome.LINKED, customer=result.customer)

    async def unlink(self, telegram_user_id: int) -> CustomerView | None:
        """Untie the Telegram account from its record; the record itself stays."""
        async with self.db.uow() as uow:
            customer = await _linked(uow.session, telegram_user_id)
            if customer is None:
                return None
            customer.telegram_user_id = None
            view = CustomerView.of(customer)
            await uow.commit()
            return view

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
            customer = await _linked(uow.session, telegram_user_id)
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
            customer = await _by_code(uow.session, code)
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
            customer = await _by_code(uow.session, code)
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
            customer = await _linked(uow.session, telegram_user_id)
            if customer is None:
                return None
            for name, value in values.items():
                setattr(customer, name, value)
            customer.updated_at = self.clock()
            view = CustomerView.of(customer)
            await uow.commit()
            return view

    # --- privacy -----------------------------------------------------------------------

    async def export(self, telegram_user_id: int) -> dict[str, Any] | None:
        """Everything held about the linked customer, JSON-ready (dates as ISO strings)."""
        async with self.db.uow() as uow:
            session = uow.session
            customer = await _linked(session, telegram_user_id)
            if customer is None:
                return None
            return await _export(session, customer, telegram_user_id)

    async def forget(self, telegram_user_id: int) -> Erased | None:
        """Erase the linked customer's personal data (care.customers.erasure); None if
        nothing is linked.

        The record stays, anonymised, with its orders and their totals: the books and the
        statistics keep their figures without knowing whose they were.
        """
        async with self.db.uow() as uow:
            customer = await _linked(uow.session, telegram_user_id)
            if customer is None:
                return None
            return await self._erase(uow, customer)

    async def by_code(self, code: str) -> CustomerView | None:
        """The customer with this code (any case), erased or not; None if there is none."""
        async with self.db.uow() as uow:
            customer = await _by_code(uow.session, code)
            return CustomerView.of(customer) if customer else None

    async def forget_by_code(self, code: str) -> Erased | None:
        """Erase a customer who asked outside Telegram (by letter, at the counter); None
        if no customer has this code or they were erased already."""
        async with self.db.uow() as uow:
            customer = await _by_code(uow.session, code)
            if customer is None or customer.erased_at is not None:
                return None
            return await self._erase(uow, customer)

    async def _erase(self, uow: UnitOfWork, customer: Customer) -> Erased:
        erased = await erase(
            uow.session,
            customer,
            now=self.clock(),
            settings=self.settings,
            renderer=self.renderer,
            outbox=self.outbox,
        )
        await uow.commit()
        remove_files(erased.files)
        await self.db.release_old_pages()
        return erased


async def _by_code(session: AsyncSession, code: str) -> Customer | None:
    return await session.scalar(
        select(Customer).where(func.upper(Customer.code) == clean(code).upper())
    )


async def _linked(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    return await session.scalar(
        select(Customer).where(
            Customer.telegram_user_id == telegram_user_id, Customer.erased_at.is_(None)
        )
    )


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = _iso(value) if isinstance(value, date | datetime) else value
    return out


async def _export(
    session: AsyncSession, customer: Customer, telegram_user_id: int
) -> dict[str, Any]:
    profile = _row(
        customer,
        "code",
        "kind",
        "name",
        "contact_person",
        "phone",
        "email",
        "address",
        "region",
        "birthday",
        "occupation",
        "size",
        "purchase_habits",
        "language",
        "telegram_user_id",
        "source",
        "created_at",
        "updated_at",
    )
    orders = (
        await session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id)
            .options(selectinload(Order.lines))
            .order_by(Order.placed_at)
        )
    ).all()
    order_rows = []
    for order in orders:
        row = _row(
            order,
            "code",
            "kind",
            "status",
            "placed_at",
            "delivered_at",
            "delivery_date",
            "amount",
            "discount",
            "payment_terms",
            "notes",
        )
        row["lines"] = [
            _row(line, "product_name", "quantity", "unit_price", "discount", "amount")
            for line in order.lines
        ]
        order_rows.append(row)
    interactions = (
        await session.scalars(
            select(Interaction)
            .where(
                or_(
                    Interaction.customer_id == customer.id,
                    Interaction.telegram_user_id == telegram_user_id,
                ),
                # Staff-chat copies about them and what they did as staff are not their data.
                Interaction.internal.is_(False),
            )
            .order_by(Interaction.created_at, Interaction.id)
        )
    ).all()
    complaints = (
        await session.scalars(
            select(Complaint)
            .where(Complaint.customer_id == customer.id)
            .options(selectinload(Complaint.messages), selectinload(Complaint.order))
            .order_by(Complaint.id)
        )
    ).all()
    complaint_rows = []
    for complaint in complaints:
        row = _row(
            complaint,
            "code",
            "category",
            "severity",
            "status",
            "description",
            "created_at",
            "resolved_at",
            "resolution",
        )
        row["order"] = complaint.order.code if complaint.order else None
        row["messages"] = [
            _row(message, "author", "text", "created_at") for message in complaint.messages
        ]
        complaint_rows.append(row)
    surveys = (
        await session.scalars(
            select(Survey).where(Survey.customer_id == customer.id).order_by(Survey.id)
        )
    ).all()
    policies = (
        await session.scalars(
            select(PolicyGrant)
            .where(PolicyGrant.customer_id == customer.id)
            .order_by(PolicyGrant.granted_at)
        )
    ).all()
    return {
        "profile": profile,
        "consents": {
            "telegram_promotions": customer.consent_telegram,
            "email_promotions": customer.consent_email,
        },
        "orders": order_rows,
        "interactions": [
            _row(item, "created_at", "channel", "direction", "kind", "text")
            for item in interactions
        ],
        "complaints": complaint_rows,
        "surveys": [
            _row(
                survey,
                "trigger",
                "status",
                "csat",
                "reliability",
                "assurance",
                "tangibles",
                "empathy",
                "responsiveness",
                "nps",
                "comment",
                "created_at",
                "answered_at",
            )
            for survey in surveys
        ],
        "policies": [_row(grant, "policy", "note", "value", "granted_at") for grant in policies],
    }
