"""The care programme: scans of the database that decide which care messages are due.

Each scan asks the data a question ("delivered orders older than N hours with no thank-you
yet", "customers whose birthday is today and who got no greeting this year") and queues the
answers through the outbox under an idempotency key. Whether something is due is decided by
the data and the key, never by the scheduler's memory: a scan may run late, twice, or after
a restart, and still sends each message once. The scheduler only decides how often to ask.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.calendar import ORGANIZATION_HOLIDAYS, holidays_on, unknown_holidays
from care.core.db import Database
from care.core.models import (
    CareAssignment,
    Channel,
    ClassificationChange,
    Customer,
    CustomerKind,
    CustomerMetrics,
    MessageCategory,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    PolicyGrant,
    Product,
    Survey,
    Voucher,
)
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import to_local
from care.outreach.campaigns import Campaigns
from care.outreach.outbox import (
    Message,
    MessageFactory,
    Outbox,
    Placed,
    existing_keys,
)
from care.outreach.rules import (
    Skip,
    choose_route,
)
from care.outreach.survey_links import SurveyLinks
from care.outreach.tier_care import Gift, TierCare, load_tier_care
from care.vouchers import Vouchers, describe

T = TypeVar("T")

log = logging.getLogger("carebot.care")

CSAT_SCALE = range(1, 6)
PAGE = 500  # customers loaded at a time by the scans that reach every customer


def survey_callback(survey_id: int, score: int) -> str:
    """The callback_data of a CSAT button: ``survey:<survey id>:csat:<1-5>``."""
    return f"survey:{survey_id}:csat:{score}"


@dataclass
class ScanReport:
    """What one scan did: messages queued, and skips by reason."""

    queued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    note: str | None = None
    held_out: int = 0  # picked, but held out to measure what the programme brings

    def add(self, placed: Placed | None) -> None:
        if placed is None:
            return
        if isinstance(placed.route, Skip):
            self.skipped[placed.route.reason] += 1
        else:
            self.queued += 1

    def __str__(self) -> str:
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
        text = f"queued {self.queued}" + (f", skipped {skipped}" if skipped else "")
        text += f", held out {self.held_out}" if self.held_out else ""
        return text + (f" ({self.note})" if self.note else "")


class CareProgramme:
    """Thank-you notes, greetings, newsletters, win-back and surveys, decided from the data."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        renderer: Renderer,
        outbox: Outbox,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.renderer = renderer
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)
        self.outbox = outbox
        self.campaigns = Campaigns(settings, db, renderer, self.outbox, clock)
        self.vouchers = Vouchers(db, settings, clock)
        self.survey_links = SurveyLinks(settings, outbox.keys)

    # --- helpers ------------------------------------------------------------------------

    def _message(
        self, template: str, reply_markup: dict[str, Any] | None = None, **context: Any
    ) -> MessageFactory:
        """A chat template and its e-mail subject, rendered in the reader's language."""

        def build(language: str) -> Message:
            ctx = {"shop_name": self.settings.shop_name, **context}
            return Message(
                body=self.renderer.chat(language, template, **ctx),
                subject=self.renderer.label(language, f"care.subject.{template}", **ctx),
                reply_markup=reply_markup,
            )

        return build

    def _greeting_time(self, now: datetime) -> date | None:
        """Today's local date once the greeting hour has come, else None."""
        local = to_local(now, self.zone)
        return local.date() if local.hour >= self.settings.greeting_hour else None

    @cached_property
    def tier_care(self) -> TierCare:
        """The templates and gifts per tier (read once; a bad file fails the first scan)."""
        return load_tier_care(self.settings.tier_care_file, self.settings.tier_names)

    async def _tiers(self, session: AsyncSession, ids: list[int]) -> dict[int, str | None]:
        if not ids:
            return {}
        rows = await session.execute(
            select(CustomerMetrics.customer_id, CustomerMetrics.tier).where(
                CustomerMetrics.customer_id.in_(ids)
            )
        )
        return {customer_id: tier for customer_id, tier in rows}

    async def _queue(
        self,
        session: AsyncSession,
        customer: Customer,
        report: ScanReport,
        *,
        key: str,
        category: str,
        template: str,
        now: datetime,
        preference: str = "telegram",
        quiet: bool | None = None,
        reply_markup: dict[str, Any] | None = None,
        due: datetime | None = None,
        programme: str | None = None,
        tier: str | None = None,
        **context: Any,
    ) -> Placed | None:
        """Queue one care message; with a programme, the customer's tier may change its
        template and add a gift (issued and recorded only if the message goes out)."""
        rule = self.tier_care.rule(programme, tier) if programme else None
        if rule is not None and rule.template:
            template = rule.template
        gift: dict[str, Any] | None = None
        voucher: Voucher | None = None
        if rule is not None and rule.gift is not None:
            if await existing_keys(session, [key]):
                return None  # decided before: no second gift
            voucher, gift = await self._gift(session, customer, rule.gift, key)
        name = self.outbox.greeting_name(customer)
        placed = await self.outbox.to_customer(
            session,
            customer,
            key=key,
            category=category,
            template=template,
            message=self._message(template, reply_markup, name=name, gift=gift, **context),
            now=now,
            preference=preference,
            quiet=quiet,
            due=due,
        )
        if rule is not None and rule.gift is not None:
            if placed is None or isinstance(placed.route, Skip):
                if voucher is not None:
                    await session.delete(voucher)  # nobody will read its code
            else:
                session.add(
                    PolicyGrant(
                        customer_id=customer.id,
                        policy=rule.gift.policy_key,
                        value=rule.gift.worth,
                        note=f"{programme} ({tier})" + (f": {voucher.code}" if voucher else ""),
                        granted_at=now,
                    )
                )
        report.add(placed)
        return placed

    async def _gift(
        self, session: AsyncSession, customer: Customer, gift: Gift, key: str
    ) -> tuple[Voucher | None, dict[str, Any]]:
        """The voucher issued for a gift (if it is one) and what the template may say of it."""
        if gift.voucher is None:
            return None, {"policy": gift.policy, "value": gift.value, "code": None}
        today = to_local(self.clock(), self.zone).date()
        [voucher] = await self.vouchers.issue_in(
            session,
            kind=gift.voucher.kind,
            value=gift.voucher.value,
            customer_ids=[customer.id],
            valid_from=today,
            valid_until=today + timedelta(days=gift.voucher.valid_days),
            issued_for=key[:100],
        )
        return voucher, {
            "code": voucher.code,
            "label": describe(voucher.kind, voucher.value),
            "valid_until": voucher.valid_until,
            "policy": None,
            "value": gift.worth,
        }

    async def _held_out(
        self, session: AsyncSession, programme: str, key: str, customer_id: int, now: datetime
    ) -> bool:
        """Whether this customer is in the programme's held-out share for this decision:
        drawn at random once (``programme_holdout``), recorded with the contacted ones, so
        a later scan keeps the draw and the effect report can compare the two."""
        existing = await session.scalar(
            select(CareAssignment.held_out).where(CareAssignment.key == key)
        )
        if existing is not None:
            return bool(existing)
        share = self.settings.programme_holdout.get(programme, 0.0)
        held = share > 0 and secrets.SystemRandom().random() < share
        session.add(
            CareAssignment(
                key=key,
                programme=programme,
                customer_id=customer_id,
                held_out=held,
                assigned_at=now,
            )
        )
        return held

    async def _delivered_orders(
        self, session: AsyncSession, delay_hours: float, now: datetime
    ) -> list[tuple[Order, Customer]]:
        """Delivered orders past the delay, not older than the look-back window."""
        due = now - timedelta(hours=delay_hours)
        oldest = due - timedelta(days=self.settings.care_lookback_days)
        result = await session.execute(
            select(Order, Customer)
            .join(Customer, Order.customer_id == Customer.id)
            .where(
                Order.kind == OrderKind.ORDER,
                Order.status == OrderStatus.DELIVERED,
                Order.delivered_at <= due,
                Order.delivered_at > oldest,
            )
            .order_by(Order.delivered_at, Order.id)
        )
        return [(row[0], row[1]) for row in result]

    # --- the scans ----------------------------------------------------------------------

    async def thank_deliveries(self) -> ScanReport:
        """A thank-you a set time after each delivery (transactional, so no consent needed,
        but it waits for the morning like everything the programme sends)."""
        now, report = self.clock(), ScanReport()
        async with self.db.uow() as uow:
            pairs = await self._delivered_orders(uow.session, self.settings.thanks_delay_hours, now)
            todo = await _unspent(uow.session, [(f"thanks:{o.id}", (o, c)) for o, c in pairs])
            tiers = await self._tiers(uow.session, [c.id for _, c in pairs])
            for key, (order, customer) in todo:
                await self._queue(
                    uow.session,
                    customer,
                    report,
                    key=key,
                    category=MessageCategory.TRANSACTIONAL,
                    template="care_thanks",
                    now=now,
                    quiet=True,
                    programme="thanks",
                    tier=tiers.get(customer.id),
                    order_code=order.code,
                    amount=order.amount,
                )
            await uow.commit()
        return report

    async def thank_now(self, session: AsyncSession, order_ids: Collection[int]) -> ScanReport:
        """The thank-you of orders just recorded as delivered (pushed by the shop's sales
        system), queued at once in the caller's transaction and due ``thanks_delay_hours``
        after ``delivered_at``, instead of waiting for the next scan. The key is the scan's
        (``thanks:ORDER``): however often an order is pushed, and whichever comes first,
        one thank-you."""
        now, report = self.clock(), ScanReport()
        if not order_ids:
            return report
        delay = timedelta(hours=self.settings.thanks_delay_hours)
        oldest = now - delay - timedelta(days=self.settings.care_lookback_days)
        result = await session.execute(
            select(Order, Customer)
            .join(Customer, Order.customer_id == Customer.id)
            .where(
                Order.id.in_(list(order_ids)),
                Order.kind == OrderKind.ORDER,
                Order.status == OrderStatus.DELIVERED,
                Order.delivered_at > oldest,
            )
            .order_by(Order.delivered_at, Order.id)
        )
        pairs = [(row[0], row[1]) for row in result]
        for key, (order, customer) in await _unspent(
            session, [(f"thanks:{o.id}", (o, c)) for o, c in pairs]
        ):
            if order.delivered_at is None:
                continue
            await self._queue(
                session,
                customer,
                report,
                key=key,
                category=MessageCategory.TRANSACTIONAL,
                template="care_thanks",
                now=now,
                quiet=True,
                due=order.delivered_at + delay,
                order_code=order.code,
                amount=order.amount,
            )
        return report

    async def invite_surveys(self) -> ScanReport:
        """A satisfaction survey a set time after delivery, with a Survey row made in the
        same transaction. On Telegram its buttons answer ``survey:<id>:csat:<n>`` (the
        survey conversation's contract); a customer without Telegram gets an e-mail with a
        signed link to the web survey (CSAT, SERVQUAL, NPS, a comment), one answer per
        invitation, stored the same way."""
        now, report = self.clock(), ScanReport()
        async with self.db.uow() as uow:
            session = uow.session
            pairs = await self._delivered_orders(session, self.settings.survey_delay_hours, now)
            for key, (order, customer) in await _unspent(
                session, [(f"survey:delivery:{o.id}", (o, c)) for o, c in pairs]
            ):
                surveyed = exists().where(Survey.order_id == order.id, Survey.trigger == "delivery")
                if await session.scalar(select(surveyed)):
                    continue
                route = choose_route(
                    customer,
                    MessageCategory.TRANSACTIONAL,
                    now=now,
                    settings=self.settings,
                    preference="telegram",
                    quiet=True,
                )
                by_email = not isinstance(route, Skip) and route.channel == Channel.EMAIL
                keyboard, survey_url = None, None
                if not isinstance(route, Skip):
                    survey = Survey(
                        customer_id=customer.id,
                        trigger="delivery",
                        order_id=order.id,
                        status="sent",
                        created_at=now,
                    )
                    session.add(survey)
                    await session.flush()
                    if by_email:
                        survey_url = self.survey_links.url(survey.id)
                    else:
                        keyboard = self._csat_keyboard(survey.id)
                await self._queue(
                    session,
                    customer,
                    report,
                    key=key,
                    category=MessageCategory.TRANSACTIONAL,
                    template="care_survey_email" if by_email else "care_survey",
                    now=now,
                    preference="email_only" if by_email else "telegram_only",
                    quiet=True,
                    reply_markup=keyboard,
                    order_code=order.code,
                    survey_url=survey_url,
                )
            await uow.commit()
        return report

    def _csat_keyboard(self, survey_id: int) -> dict[str, Any]:
        buttons = [
            {"text": f"{n} ⭐", "callback_data": survey_callback(survey_id, n)} for n in CSAT_SCALE
        ]
        return {"inline_keyboard": [buttons]}

    async def greet_birthdays(self) -> ScanReport:
        """Birthday greetings for individuals and founding-day greetings for organizations,
        on the day, from the greeting hour on (29 February is greeted on the 28th in other
        years)."""
        now, report = self.clock(), ScanReport()
        today = self._greeting_time(now)
        if today is None:
            report.note = "before the greeting hour"
            return report
        days = [today.day]
        if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
            days.append(29)
        async with self.db.uow() as uow:
            customers = list(
                await uow.session.scalars(
                    select(Customer)
                    .where(
                        Customer.erased_at.is_(None),
                        Customer.birthday.is_not(None),
                        extract("month", Customer.birthday) == today.month,
                        extract("day", Customer.birthday).in_(days),
                    )
                    .order_by(Customer.id)
                )
            )
            tiers = await self._tiers(uow.session, [c.id for c in customers])
            for customer in customers:
                organization = customer.kind == CustomerKind.ORGANIZATION
                kind = "founding" if organization else "birthday"
                assert customer.birthday is not None
                years = today.year - customer.birthday.year
                key = f"{kind}:{customer.id}:{today.year}"
                if await self._held_out(uow.session, "birthday", key, customer.id, now):
                    report.held_out += 1
                    continue
                await self._queue(
                    uow.session,
                    customer,
                    report,
                    key=f"{kind}:{customer.id}:{today.year}",
                    category=MessageCategory.GREETING,
                    template="care_founding_day" if organization else "care_birthday",
                    now=now,
                    programme=None if organization else "birthday",
                    tier=tiers.get(customer.id),
                    years=years if 0 < years < 200 else None,
                    organization=customer.name,
                )
            await uow.commit()
        return report

    async def greet_holidays(self) -> ScanReport:
        """Holiday greetings (Tet, 8/3, 20/10, Mid-Autumn, New Year, as enabled) on the day."""
        now, report = self.clock(), ScanReport()
        unknown = unknown_holidays(self.settings.holidays_enabled)
        if unknown:
            log.warning("unknown holidays in CAREBOT_HOLIDAYS_ENABLED: %s", ", ".join(unknown))
        today = self._greeting_time(now)
        names = holidays_on(today, self.settings.holidays_enabled) if today else []
        if today is None or not names:
            report.note = "no holiday now"
            return report
        async with self.db.uow() as uow:
            async for customers in _pages(uow.session, Customer.erased_at.is_(None)):
                for name in names:
                    wanted = [
                        c
                        for c in customers
                        if c.kind != CustomerKind.ORGANIZATION or name in ORGANIZATION_HOLIDAYS
                    ]
                    tiers = await self._tiers(uow.session, [c.id for c in wanted])
                    for key, customer in await _unspent(
                        uow.session, [(f"holiday:{name}:{today.year}:{c.id}", c) for c in wanted]
                    ):
                        await self._queue(
                            uow.session,
                            customer,
                            report,
                            key=key,
                            category=MessageCategory.GREETING,
                            template="care_holiday",
                            now=now,
                            programme="holidays",
                            tier=tiers.get(customer.id),
                            holiday=name,
                            year=today.year,
                        )
            await uow.commit()
        return report

    async def send_newsletter(self) -> ScanReport:
        """The monthly newsletter: what is new in the shop this past month, with the
        products it features, on the configured day. Each tier gets the products closest
        to what that tier buys (the categories of its purchases over the past year) first.
        A month with nothing new sends nothing: an empty newsletter is spam."""
        now, report = self.clock(), ScanReport()
        today = self._greeting_time(now)
        if today is None or today.day != self.settings.newsletter_day:
            report.note = "not newsletter day"
            return report
        month = f"{today:%Y-%m}"
        async with self.db.uow() as uow:
            session = uow.session
            new, featured = await _newsletter_products(session, today, now)
            if not new:
                report.note = "nothing new this month"
                return report
            affinity = await _tier_affinity(session, now)
            chosen: dict[str | None, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
            async for customers in _pages(session, Customer.erased_at.is_(None)):
                todo = await _unspent(
                    session, [(f"newsletter:{month}:{c.id}", c) for c in customers]
                )
                tiers = dict(
                    (
                        await session.execute(
                            select(CustomerMetrics.customer_id, CustomerMetrics.tier).where(
                                CustomerMetrics.customer_id.in_([c.id for c in customers])
                            )
                        )
                    ).all()
                )
                for key, customer in todo:
                    tier = tiers.get(customer.id)
                    if tier not in chosen:
                        weights = affinity.get(tier, {})
                        chosen[tier] = (
                            _for_tier(new, weights, NEWSLETTER_NEW),
                            _for_tier(featured, weights, NEWSLETTER_FEATURED),
                        )
                    products, featured_items = chosen[tier]
                    await self._queue(
                        session,
                        customer,
                        report,
                        key=key,
                        category=MessageCategory.MARKETING,
                        template="care_newsletter",
                        now=now,
                        products=products,
                        featured=featured_items,
                        month=today,
                    )
            await uow.commit()
        return report

    async def win_back(self) -> ScanReport:
        """A we-miss-you message when segmentation moves a customer into the at-risk
        segment (a ClassificationChange), if they are still there."""
        now, report = self.clock(), ScanReport()
        segment = self.settings.winback_segment
        since = now - timedelta(days=max(self.settings.care_lookback_days, 7))
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                select(ClassificationChange, Customer)
                .join(Customer, ClassificationChange.customer_id == Customer.id)
                .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                .where(
                    ClassificationChange.field == "segment",
                    ClassificationChange.new_value == segment,
                    ClassificationChange.changed_at >= since,
                    CustomerMetrics.segment == segment,
                    Customer.erased_at.is_(None),
                )
                .order_by(ClassificationChange.id)
            )
            pairs = [(row[0], row[1]) for row in result]
            todo = await _unspent(uow.session, [(f"winback:{ch.id}", (ch, c)) for ch, c in pairs])
            tiers = await self._tiers(uow.session, [c.id for _, c in pairs])
            for key, (_change, customer) in todo:
                if await self._held_out(uow.session, "win_back", key, customer.id, now):
                    report.held_out += 1
                    continue
                await self._queue(
                    uow.session,
                    customer,
                    report,
                    key=key,
                    category=MessageCategory.MARKETING,
                    template="care_winback",
                    now=now,
                    programme="win_back",
                    tier=tiers.get(customer.id),
                )
            await uow.commit()
        return report

    async def run_all(self) -> dict[str, ScanReport | int]:
        """Every scan once (for `carebot scheduler scan` and the demo)."""
        reports: dict[str, ScanReport | int] = {
            "thanks": await self.thank_deliveries(),
            "surveys": await self.invite_surveys(),
            "birthdays": await self.greet_birthdays(),
            "holidays": await self.greet_holidays(),
            "newsletter": await self.send_newsletter(),
            "winback": await self.win_back(),
            "campaigns started": await self.campaigns.start_due(),
        }
        await self.campaigns.finish_done()
        return reports


async def _unspent(session: AsyncSession, keyed: list[tuple[str, T]]) -> list[tuple[str, T]]:
    """The items whose message key is not spent yet, with their keys (one query for all)."""
    spent = await existing_keys(session, [key for key, _ in keyed])
    return [(key, item) for key, item in keyed if key not in spent]


async def _pages(
    session: AsyncSession, *where: ColumnElement[bool]
) -> AsyncIterator[list[Customer]]:
    """The customers matching ``where`` in id order, ``PAGE`` at a time: a scan of every
    customer loads a page while the bot answers, not a million objects in one go."""
    after = 0
    while True:
        page = list(
            await session.scalars(
                select(Customer)
                .where(Customer.id > after, *where)
                .order_by(Customer.id)
                .limit(PAGE)
            )
        )
        if page:
            yield page
        if len(page) < PAGE:
            return
        after = page[-1].id


NEWSLETTER_NEW = 6  # new products one newsletter lists
NEWSLETTER_FEATURED = 3  # featured products beside them


async def _newsletter_products(
    session: AsyncSession, today: date, now: datetime
) -> tuple[list[Product], list[Product]]:
    """Products on sale added in the past month (newest first), and featured ones not new."""
    since = today - timedelta(days=31)
    is_new = or_(
        Product.added_on >= since,
        and_(Product.added_on.is_(None), Product.created_at >= now - timedelta(days=31)),
    )
    new = list(
        await session.scalars(
            select(Product)
            .where(Product.active.is_(True), is_new)
            .order_by(Product.added_on.desc(), Product.created_at.desc(), Product.id)
            .limit(100)
        )
    )
    taken = {product.id for product in new}
    featured = [
        product
        for product in await session.scalars(
            select(Product)
            .where(Product.active.is_(True), Product.featured.is_(True))
            .order_by(Product.name, Product.id)
            .limit(100)
        )
        if product.id not in taken
    ]
    return new, featured


async def _tier_affinity(session: AsyncSession, now: datetime) -> dict[str | None, dict[str, int]]:
    """What each tier spent per product category over the past year."""
    result = await session.execute(
        select(CustomerMetrics.tier, Product.category, func.sum(OrderLine.amount))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(CustomerMetrics, CustomerMetrics.customer_id == Order.customer_id)
        .where(
            Order.kind == OrderKind.ORDER,
            Order.status.not_in((OrderStatus.CANCELLED, OrderStatus.RETURNED)),
            Order.placed_at >= now - timedelta(days=365),
            Product.category.is_not(None),
        )
        .group_by(CustomerMetrics.tier, Product.category)
    )
    affinity: dict[str | None, dict[str, int]] = {}
    for tier, category, spent in result:
        affinity.setdefault(tier, {})[category or ""] = int(spent or 0)
    return affinity


def _for_tier(products: list[Product], weights: dict[str, int], most: int) -> list[dict[str, Any]]:
    """The products a tier sees: those of the categories it buys most first, then the
    rest in the order given (newest first)."""
    ranked = sorted(
        enumerate(products), key=lambda item: (-weights.get(item[1].category or "", 0), item[0])
    )
    return [
        {"name": product.name, "price": product.price, "category": product.category}
        for _, product in ranked[:most]
    ]


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
