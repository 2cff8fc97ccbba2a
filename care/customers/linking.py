"""Tying a Telegram account to a customer record, in one of three ways: the customer
shares their own phone contact and the number matches a record; no record matches and
they register; or they know their customer code and prove it with a one-time code sent
to the e-mail address on file (only a hash of the code is kept).
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

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database, UnitOfWork
from care.core.models import (
    Customer,
    CustomerKind,
    Interaction,
    LinkCode,
    MessageCategory,
    OutboxMessage,
)
from care.core.rendering import LANGUAGES, Renderer
from care.core.settings import Settings
from care.core.text import (
    as_utc,
    clean,
    normalise_phone,
)
from care.customers.profile import (
    CustomerView,
    InvalidInput,
    linked_customer,
    parse_email,
    parse_name,
)
from care.outreach import Message, Outbox, Skip

CODE_DIGITS = 6
# One-time codes a Telegram account may ask for in a day: enough for a typo or two,
# too few to guess a code by asking again and again.
LINK_CODES_PER_DAY = 5
LINK_CODE_TEMPLATE = "link_code_email"


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


class Linking:
    """The linking part of ``CustomerService``."""

    db: Database
    settings: Settings
    renderer: Renderer
    outbox: Outbox
    clock: Callable[[], datetime]

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
            mine = await linked_customer(session, telegram_user_id)
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
            mine = await linked_customer(session, telegram_user_id)
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
            if await linked_customer(session, telegram_user_id) is not None:
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
            if await linked_customer(session, telegram_user_id) is not None:
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
            customer = await linked_customer(uow.session, telegram_user_id)
            if customer is None:
                return None
            customer.telegram_user_id = None
            view = CustomerView.of(customer)
            await uow.commit()
            return view
