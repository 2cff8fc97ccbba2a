"""The staff customer card: everything worth knowing when a customer comes back.

Staff look a customer up by code, by phone in any format, or by name (with or without
diacritics, tolerant of typos); several matches come back as a list to choose from. The
card then gathers the profile, tier and its history, RFM segment, LTV and CLV, the last
orders, complaint counts, survey scores, the policies already granted and the suggested
next one. Plain data: the Telegram handler renders it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    ClassificationChange,
    Complaint,
    Contact,
    ContactStatus,
    Customer,
    CustomerMetrics,
    Order,
    OrderKind,
    Staff,
    Survey,
)
from care.core.text import fold, normalise_phone, utcnow
from care.customers.habits import PurchaseHabits, derive
from care.customers.policies import Grant, Policies, Suggestion

MAX_MATCHES = 10
NAMES_REBUILD_SECONDS = 600.0
NAMES_SETTLE = timedelta(seconds=5)
NAME_SCORE_CUTOFF = 80.0
LAST_ORDERS = 5
HISTORY = 10
CONTACTS = 8
SERVQUAL = ("reliability", "assurance", "tangibles", "empathy", "responsiveness")


@dataclass(frozen=True)
class CustomerMatch:
    """One search result: enough to tell namesakes apart."""

    id: int
    code: str
    name: str
    kind: str
    phone: str | None
    region: str | None


@dataclass(frozen=True)
class CustomerRow:
    """One line of the console's customer list."""

    id: int
    code: str
    name: str
    kind: str
    phone: str | None
    email: str | None
    region: str | None
    tier: str | None
    segment: str | None
    ltv: int | None


@dataclass(frozen=True)
class Profile:
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
    occupation: str | None
    size: int | None
    purchase_habits: str | None
    language: str
    consent_telegram: bool
    consent_email: bool
    telegram_linked: bool
    # The first order's time; the record's creation for someone who has not ordered yet
    # (an import or a Telegram link creates the record long after the first purchase).
    customer_since: datetime


@dataclass(frozen=True)
class Metrics:
    as_of: date
    recency_days: int | None
    frequency: int
    monetary: int
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: str | None
    tier: str | None
    historical_ltv: int
    expected_purchases_12m: float | None
    p_alive: float | None
    clv_12m: int | None


@dataclass(frozen=True)
class Change:
    field: str  # "tier" or "segment"
    old_value: str | None
    new_value: str | None
    changed_at: datetime
    as_of: date


@dataclass(frozen=True)
class OrderLine:
    code: str
    kind: str
    status: str
    placed_at: datetime
    amount: int


@dataclass(frozen=True)
class ContactLine:
    id: int
    kind: str
    status: str
    at: datetime | None
    staff_name: str | None
    note: str | None
    outcome: str | None
    reason: str


@dataclass(frozen=True)
class ComplaintCounts:
    total: int = 0
    open: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    last_at: datetime | None = None


@dataclass(frozen=True)
class SurveyScores:
    answered: int = 0
    csat: float | None = None
    nps: float | None = None
    servqual: dict[str, float | None] = field(default_factory=dict)
    last_comment: str | None = None


@dataclass(frozen=True)
class CustomerCard:
    profile: Profile
    metrics: Metrics | None
    history: list[Change]  # tier and segment changes, newest first
    last_orders: list[OrderLine]
    complaints: ComplaintCounts
    surveys: SurveyScores
    granted: list[Grant]
    suggested: list[Suggestion]
    # Contacts outside the bot: planned ones first (soonest first), then the latest done.
    contacts: list[ContactLine] = field(default_factory=list)
    habits: PurchaseHabits | None = None  # derived from the orders and conversations

    @property
    def tier_history(self) -> list[Change]:
        return [c for c in self.history if c.field == "tier"]


class CustomerCards:
    """Finds customers and builds their card for staff."""

    def __init__(
        self, db: Database, policies: Policies, timezone: str = "Asia/Ho_Chi_Minh"
    ) -> None:
        self.db = db
        self.policies = policies
        self.names = NameIndex()
        self._names_built: float | None = None
        self._regions: tuple[float, list[str]] | None = None
        self.zone = ZoneInfo(timezone)

    async def _refresh_names(self, session: Any) -> None:
        """Bring the name index up to date with the customers changed since it last looked
        (any process may have changed them: the bot, an import, the console).

        Rows changed in the last seconds are read again next time, in case a transaction
        stamped before the watermark commits after it; and the whole index is rebuilt every
        ``NAMES_REBUILD_SECONDS``, which bounds what a long import's late commit can hide.
        """
        clock = time.monotonic()
        if self._names_built is None or clock - self._names_built > NAMES_REBUILD_SECONDS:
            self.names = NameIndex()
            self._names_built = clock
        query = select(Customer.id, Customer.name, Customer.erased_at, Customer.updated_at)
        if self.names.watermark is not None:
            query = query.where(Customer.updated_at > self.names.watermark)
        latest = self.names.watermark
        for cid, name, erased_at, updated_at in (await session.execute(query)).all():
            self.names.put(cid, None if erased_at is not None else name)
            if latest is None or updated_at > latest:
                latest = updated_at
        settled = utcnow() - NAMES_SETTLE
        if latest is not None and latest > settled:
            latest = max(settled, self.names.watermark) if self.names.watermark else settled
        self.names.watermark = latest

    async def find(self, query: str) -> list[CustomerMatch]:
        """Customers matching a code, a phone number or a name, best first.

        A code or phone that matches wins outright; otherwise names are compared folded
        (no case, no diacritics): names containing every word typed first, then close
        fuzzy matches. Erased customers are never found.
        """
        query = query.strip()
        if not query:
            return []
        alive = Customer.erased_at.is_(None)
        async with self.db.uow() as uow:
            s = uow.session
            by_code = (
                await s.scalars(
                    select(Customer).where(alive, func.upper(Customer.code) == query.upper())
                )
            ).all()
            if by_code:
                return [_match(c) for c in by_code]  # read before the session closes
            phone = _phone_or_none(query)
            if phone:
                by_phone = (
                    await s.scalars(
                        select(Customer)
                        .where(alive, Customer.phone == phone)
                        .order_by(Customer.code)
                    )
                ).all()
                if by_phone:
                    return [_match(c) for c in by_phone][:MAX_MATCHES]
            await self._refresh_names(s)
            ids = self.names.search(query)
            if not ids:
                return []
            found = {
                c.id: _match(c)
                for c in (await s.scalars(select(Customer).where(Customer.id.in_(ids)))).all()
            }
        return [found[i] for i in ids if i in found]

    async def search(
        self,
        query: str = "",
        *,
        tier: str | None = None,
        segment: str | None = None,
        region: str | None = None,
        kind: str | None = None,
        consent: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[CustomerRow], int]:
        """The console's customer list: ``find``'s matches (or everyone), an e-mail address
        too, narrowed by tier, segment, region, kind and consent ("telegram", "email",
        "none"); a page of rows and how many match in all."""
        alive = Customer.erased_at.is_(None)
        conditions: list[Any] = [alive]
        query = query.strip()
        if query:
            if "@" in query:
                conditions.append(func.lower(Customer.email) == query.lower())
            else:
                ids = [m.id for m in await self.find(query)]
                if not ids:
                    return [], 0
                conditions.append(Customer.id.in_(ids))
        if tier:
            conditions.append(CustomerMetrics.tier == tier)
        if segment:
            conditions.append(CustomerMetrics.segment == segment)
        if region:
            conditions.append(Customer.region == region)
        if kind:
            conditions.append(Customer.kind == kind)
        if consent == "telegram":
            conditions.append(Customer.consent_telegram.is_(True))
        elif consent == "email":
            conditions.append(Customer.consent_email.is_(True))
        elif consent == "none":
            conditions.append(Customer.consent_telegram.is_(False))
            conditions.append(Customer.consent_email.is_(False))
        base = (
            select(
                Customer.id,
                Customer.code,
                Customer.name,
                Customer.kind,
                Customer.phone,
                Customer.email,
                Customer.region,
                CustomerMetrics.tier,
                CustomerMetrics.segment,
                CustomerMetrics.historical_ltv.label("ltv"),
            )
            .outerjoin(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
            .where(*conditions)
        )
        async with self.db.uow() as uow:
            total = await uow.session.scalar(select(func.count()).select_from(base.subquery()))
            rows = (
                await uow.session.execute(
                    base.order_by(Customer.name, Customer.id).limit(limit).offset(offset)
                )
            ).all()
        return [CustomerRow(**row._asdict()) for row in rows], int(total or 0)

    async def regions(self) -> list[str]:
        """The regions customers are in, for the console's filter (read once a minute)."""
        if self._regions is not None and time.monotonic() - self._regions[0] < 60:
            return self._regions[1]
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(Customer.region)
                .where(Customer.region.is_not(None), Customer.erased_at.is_(None))
                .distinct()
                .order_by(Customer.region)
            )
            regions = [r for r in rows if r]
        self._regions = (time.monotonic(), regions)
        return regions

    async def card(self, customer_id: int, language: str | None = None) -> CustomerCard | None:
        """The whole card of one customer; None for an unknown or erased one."""
        async with self.db.uow() as uow:
            s = uow.session
            customer = await s.get(Customer, customer_id)
            if customer is None or customer.erased_at is not None:
                return None
            metrics = await s.get(CustomerMetrics, customer_id)
            first_order = await s.scalar(
                select(func.min(Order.placed_at)).where(
                    Order.customer_id == customer_id, Order.kind == OrderKind.ORDER
                )
            )
            history = (
                await s.scalars(
                    select(ClassificationChange)
                    .where(ClassificationChange.customer_id == customer_id)
                    .order_by(
                        ClassificationChange.changed_at.desc(), ClassificationChange.id.desc()
                    )
                    .limit(HISTORY)
                )
            ).all()
            orders = (
                await s.scalars(
                    select(Order)
                    .where(Order.customer_id == customer_id)
                    .order_by(Order.placed_at.desc(), Order.id.desc())
                    .limit(LAST_ORDERS)
                )
            ).all()
            complaints = (
                await s.execute(
                    select(Complaint.category, Complaint.status, Complaint.created_at).where(
                        Complaint.customer_id == customer_id
                    )
                )
            ).all()
            surveys = (
                await s.scalars(
                    select(Survey)
                    .where(
                        Survey.customer_id == customer_id,
                        or_(Survey.answered_at.is_not(None), Survey.csat.is_not(None)),
                    )
                    .order_by(Survey.created_at.desc())
                )
            ).all()
            contacts = await _contacts(s, customer_id)
            habits = (await derive(s, [customer_id], self.zone)).get(customer_id)
            s.expunge_all()  # plain values once the session closes
        granted = await self.policies.granted(customer_id, language=language)
        suggested = self.policies.suggest(
            metrics.tier if metrics else None, metrics.segment if metrics else None, language
        )
        return CustomerCard(
            profile=_profile(customer, first_order),
            metrics=_metrics(metrics) if metrics else None,
            history=[
                Change(c.field, c.old_value, c.new_value, c.changed_at, c.as_of) for c in history
            ],
            last_orders=[
                OrderLine(o.code, o.kind, o.status, o.placed_at, o.amount) for o in orders
            ],
            complaints=_complaint_counts(complaints),
            surveys=_survey_scores(list(surveys)),
            granted=granted,
            suggested=suggested,
            contacts=contacts,
            habits=habits,
        )


# --------------------------------------------------------------------------- helpers


def _phone_or_none(text: str) -> str | None:
    """E.164 when the text reads as a phone number (mostly digits), else None."""
    digits = sum(ch.isdigit() for ch in text)
    if digits < 8 or digits < len(text.replace(" ", "")) * 0.7:
        return None
    try:
        return normalise_phone(text)
    except ValueError:
        return None


class NameIndex:
    """Customers' names folded once and indexed by word, kept up to date by what changed.

    Search by name must stay fast with a hundred thousand customers: folding every name
    and comparing it for every query takes most of a second. Here a name is folded when it
    is first seen or changes, each folded word points at the customers whose name holds
    it, and a query intersects those sets.
    """

    def __init__(self) -> None:
        self.folded: dict[int, str] = {}
        self.words: dict[str, set[int]] = {}
        self.watermark: datetime | None = None

    def put(self, cid: int, name: str | None) -> None:
        """Add, change or (``name`` None: erased) remove a customer's name."""
        old = self.folded.pop(cid, None)
        if old is not None:
            for word in set(old.split()):
                ids = self.words.get(word)
                if ids is not None:
                    ids.discard(cid)
                    if not ids:
                        del self.words[word]
        if name is None:
            return
        folded = fold(name)
        self.folded[cid] = folded
        for word in set(folded.split()):
            self.words.setdefault(word, set()).add(cid)

    def search(self, query: str) -> list[int]:
        """Names holding every word typed as a whole word win ("lan" finds Lan, not Lành);
        then names holding every word as a part ("ngu" finds Nguyễn); then close fuzzy
        matches, for typos."""
        wanted = fold(query)
        if not wanted:
            return []
        words = wanted.split()
        folded = self.folded

        def ranked(ids: set[int]) -> list[int]:
            scored = sorted((-fuzz.WRatio(wanted, folded[i]), i) for i in ids)
            return [i for _, i in scored[:MAX_MATCHES]]

        whole = _intersect(self.words.get(word, set()) for word in words)
        if whole:
            return ranked(whole)
        parts = _intersect(
            set().union(*(ids for known, ids in self.words.items() if word in known))
            for word in words
        )
        if parts:
            return ranked(parts)
        fuzzy = process.extract(
            wanted, folded, scorer=fuzz.WRatio, score_cutoff=NAME_SCORE_CUTOFF, limit=MAX_MATCHES
        )
        return [cid for _, _, cid in fuzzy]


def _intersect(sets: Iterable[set[int]]) -> set[int]:
    result: set[int] | None = None
    for ids in sets:
        result = set(ids) if result is None else result & ids
        if not result:
            return set()
    return result or set()


def _match(c: Customer) -> CustomerMatch:
    return CustomerMatch(c.id, c.code, c.name, c.kind, c.phone, c.region)


def _profile(c: Customer, first_order: datetime | None) -> Profile:
    return Profile(
        id=c.id,
        code=c.code,
        kind=c.kind,
        name=c.name,
        contact_person=c.contact_person,
        phone=c.phone,
        email=c.email,
        address=c.address,
        region=c.region,
        birthday=c.birthday,
        occupation=c.occupation,
        size=c.size,
        purchase_habits=c.purchase_habits,
        language=c.language,
        consent_telegram=c.consent_telegram,
        consent_email=c.consent_email,
        telegram_linked=c.telegram_user_id is not None,
        customer_since=first_order or c.created_at,
    )


def _metrics(m: CustomerMetrics) -> Metrics:
    return Metrics(
        as_of=m.as_of,
        recency_days=m.recency_days,
        frequency=m.frequency,
        monetary=m.monetary,
        r_score=m.r_score,
        f_score=m.f_score,
        m_score=m.m_score,
        segment=m.segment,
        tier=m.tier,
        historical_ltv=m.historical_ltv,
        expected_purchases_12m=m.expected_purchases_12m,
        p_alive=m.p_alive,
        clv_12m=m.clv_12m,
    )


async def _contacts(s: AsyncSession, customer_id: int) -> list[ContactLine]:
    rows: list[ContactLine] = []
    for status, order in (
        (ContactStatus.PLANNED, Contact.due_at.asc()),
        (ContactStatus.DONE, Contact.done_at.desc()),
    ):
        found = (
            await s.execute(
                select(Contact, Staff.name)
                .outerjoin(Staff, Staff.id == Contact.staff_id)
                .where(Contact.customer_id == customer_id, Contact.status == status)
                .order_by(order, Contact.id.desc())
                .limit(CONTACTS)
            )
        ).all()
        rows.extend(
            ContactLine(
                c.id, c.kind, c.status, c.done_at or c.due_at, name, c.note, c.outcome, c.reason
            )
            for c, name in found
        )
    return rows[:CONTACTS]


def _complaint_counts(rows: Sequence[tuple[str, str, datetime]]) -> ComplaintCounts:
    if not rows:
        return ComplaintCounts()
    return ComplaintCounts(
        total=len(rows),
        open=sum(1 for _, status, _ in rows if status != "resolved"),
        by_category=dict(Counter(category for category, _, _ in rows).most_common()),
        last_at=max(created for _, _, created in rows),
    )


def _survey_scores(surveys: list[Survey]) -> SurveyScores:
    if not surveys:
        return SurveyScores()

    def mean(values: list[int | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) / len(present) if present else None

    comments = [s.comment for s in surveys if s.comment]
    return SurveyScores(
        answered=len(surveys),
        csat=mean([s.csat for s in surveys]),
        nps=mean([s.nps for s in surveys]),
        servqual={dim: mean([getattr(s, dim) for s in surveys]) for dim in SERVQUAL},
        last_comment=comments[0] if comments else None,
    )
