"""Campaigns: tier promotions, newsletters and announcements to an audience, on a schedule.

A campaign names its audience (tiers and segments from the segmentation, customer kind,
regions, consent), a channel preference, a staff-written template and subject per language,
an offer per tier and a start time. Templates are checked when the campaign is created
(they compile, render for a sample customer of each tier in each language, and give
Telegram HTML Telegram accepts), so a mistake shows up then, never at send time.

Starting a campaign queues one outbox row per audience member in one transaction (skips
included, with their reason); the dispatcher sends them. A campaign scheduled for later is
just ``status='scheduled'`` with ``scheduled_at``: the scheduler's scan starts it when due,
so a restart neither loses nor repeats it. When no row of a running campaign is left to
send, it is marked done and a summary goes to the staff chat through the outbox.
"""

from __future__ import annotations

import builtins
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from jinja2 import TemplateError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from care.core.db import Database
from care.core.keys import Keys
from care.core.models import (
    Campaign,
    CampaignStatus,
    CareAssignment,
    Customer,
    CustomerKind,
    CustomerMetrics,
    MessageCategory,
    Order,
    OrderLine,
    OutboxMessage,
    OutboxStatus,
    Product,
    Voucher,
)
from care.core.rendering import LANGUAGES, Renderer, TemplateProblem
from care.core.settings import Settings
from care.core.text import to_local, utcnow
from care.core.workers import worker
from care.outreach.outbox import (
    OPEN_STATUSES,
    Message,
    Outbox,
    check_chat_html,
    enqueue_rows,
    existing_keys,
    recent_marketing_counts,
)
from care.outreach.rules import (
    PREFERENCES,
    Route,
    Skip,
)
from care.vouchers import describe, new_code

SKIP_TEMPLATE_ERROR = "template_error"
# How a campaign is measured, kept beside its audience: the share of it held out (recorded,
# never contacted) and the days after the start its effect is counted over.
MEASURE_KEYS = ("holdout", "measure_days", "voucher")
DEFAULT_HOLDOUT = 0.10
SKIP_CANCELLED = "cancelled"
PAGE = 500  # audience members loaded at a time
PLAN_BATCH = 500  # audience members rendered at a time in the worker process


class CampaignError(ValueError):
    """A campaign request that cannot be carried out; the message is fit to show staff."""


class Audience(BaseModel):
    """Who a campaign is for; every field narrows it, an empty one does not."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    kind: Literal["individual", "organization"] | None = None
    regions: list[str] = Field(default_factory=list)
    consent: Literal["telegram", "email", "any"] | None = None
    # Customers with the same need: who asked for (an inquiry) or bought (an order) a
    # product of one of these catalogue categories.
    product_categories: list[str] = Field(default_factory=list)
    # Named customers (codes): the vulnerable set of a competitor's campaign, a list.
    customers: list[str] = Field(default_factory=list, max_length=100_000)


def same_need(categories: list[str]) -> Select[int]:
    """The ids of customers who asked for or bought a product of these categories (a
    cancelled order or a lost inquiry still tells what the customer wanted)."""
    return (
        select(Order.customer_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Product.category.in_(categories))
        .distinct()
    )


class CampaignVoucher(BaseModel):
    """A voucher code for each contacted customer, issued when the campaign starts and put
    into the message by the template's ``{{ voucher }}`` (``{{ voucher_value }}``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["amount", "percent"] = "amount"
    value: int = Field(gt=0)
    valid_days: int = Field(default=30, ge=1, le=366)
    tiers: list[str] = Field(default_factory=list)


class CampaignSpec(BaseModel):
    """A campaign as staff write it (CLI options or a YAML file)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["promotion", "newsletter", "announcement"] = "promotion"
    audience: Audience = Field(default_factory=Audience)
    channel: str = "telegram"
    template: dict[str, str]
    subject: dict[str, str] = Field(default_factory=dict)
    offers: dict[str, str] = Field(default_factory=dict)
    schedule: datetime | None = None
    holdout: float = Field(default=DEFAULT_HOLDOUT, ge=0.0, le=0.5)
    measure_days: int = Field(default=30, ge=1, le=365)
    voucher: CampaignVoucher | None = None

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str) -> str:
        if value not in PREFERENCES:
            raise ValueError(f"channel must be one of {', '.join(PREFERENCES)}")
        return value

    @field_validator("template", "subject")
    @classmethod
    def _known_languages(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [lang for lang in value if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}; use {' or '.join(LANGUAGES)}")
        return value

    @field_validator("schedule")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("the schedule needs a time zone (the CLI adds the shop's)")
        return value

    @classmethod
    def parse(cls, data: dict[str, Any]) -> CampaignSpec:
        """Validate, turning pydantic's report into one readable line."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "campaign"
            raise CampaignError(f"{where}: {first['msg']}") from None


def choose_holdout(customer_ids: list[int], share: float) -> set[int]:
    """A random ``share`` of some customers (rounded down), drawn from the system's entropy:
    who is held out cannot be steered, and is recorded, not recomputed."""
    count = int(len(customer_ids) * share)
    return set(secrets.SystemRandom().sample(customer_ids, count)) if count else set()


def assignment_rows(
    keys: dict[int, str],
    held: set[int],
    *,
    programme: str,
    now: datetime,
    campaign_id: int | None = None,
) -> list[dict[str, Any]]:
    """The CareAssignment rows of some customers (customer id -> key)."""
    return [
        {
            "key": key,
            "programme": programme,
            "campaign_id": campaign_id,
            "customer_id": customer_id,
            "held_out": customer_id in held,
            "assigned_at": now,
        }
        for customer_id, key in keys.items()
    ]


@dataclass
class DryRun:
    """What sending would do, without sending: audience, channels, skips and delays."""

    audience: int = 0
    held_out: int = 0  # the holdout's size: drawn at random when the campaign starts
    channels: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    delayed_until: datetime | None = None
    delayed: int = 0
    skipped_customers: list[tuple[str, str]] = field(default_factory=list)  # (code, reason)


@dataclass
class CampaignProgress:
    """Where a campaign stands: its rows by status and its skips by reason."""

    campaign: Campaign
    statuses: Counter[str]
    skipped: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def open(self) -> int:
        return sum(self.statuses[s] for s in OPEN_STATUSES)

    @property
    def finished(self) -> int:
        return self.total - self.open


def holdout_share(campaign: Campaign) -> float:
    """The share of the audience a campaign holds out (none for one made before holdouts)."""
    return float((campaign.audience or {}).get("holdout", 0.0))


def _campaign_key(campaign_id: int, customer_id: int) -> str:
    return f"campaign:{campaign_id}:{customer_id}"


class Campaigns:
    """Create, check, preview, start and follow campaigns."""

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
        self.outbox = outbox
        self.clock = clock
        self._compiled: dict[tuple[str, bool], Any] = {}

    # --- templates ----------------------------------------------------------------------

    def _source(self, table: dict[str, Any], language: str) -> str | None:
        return (
            table.get(language)
            or table.get(self.settings.default_language)
            or next(iter(table.values()), None)
        )

    def context(
        self, campaign: Campaign | CampaignSpec, customer: Customer, metrics: CustomerMetrics | None
    ) -> dict[str, Any]:
        """What a campaign template can use: name, customer_name, code, tier, segment,
        region, offer, shop_name."""
        tier = metrics.tier if metrics else None
        offers = campaign.offers or {}
        return {
            "name": self.outbox.greeting_name(customer),
            "customer_name": customer.name,
            "code": customer.code,
            "tier": tier or "",
            "segment": (metrics.segment if metrics else None) or "",
            "region": customer.region or "",
            "offer": offers.get(tier or "", offers.get("default", "")),
            "shop_name": self.settings.shop_name,
            "voucher": "K7RMX-EHT4P" if customer.id == 0 else "",  # the sample's, or none
            "voucher_value": _voucher_value(campaign),
        }

    def message_for(
        self, campaign: Campaign | CampaignSpec, context: dict[str, Any]
    ) -> Callable[[str], Message]:
        """Render the campaign for one reader; raises TemplateProblem on a bad template."""

        def build(language: str) -> Message:
            body_source = self._source(campaign.template, language)
            if body_source is None:
                raise TemplateProblem("the campaign has no template")
            body = self._render(body_source, True, lang=language, **context)
            check_chat_html(body)
            subject_source = self._source(campaign.subject or {}, language) or (
                getattr(campaign, "name", "") or ""
            )
            subject = self._render(subject_source, False, lang=language, **context)
            return Message(body=body, subject=" ".join(subject.split()))

        return build

    def _render(self, source: str, html: bool, **context: Any) -> str:
        """Render a staff template, compiling each source once (a campaign renders it for
        every customer of its audience)."""
        key = (source, html)
        template = self._compiled.get(key)
        if template is None:
            template = self._compiled[key] = self.renderer.from_string(source, html=html)
            if len(self._compiled) > 256:
                self._compiled.pop(next(iter(self._compiled)))
        try:
            return str(template.render(**context)).strip()
        except TemplateError as exc:
            raise TemplateProblem(str(exc)) from exc

    def sample_customer(self, language: str, tier: str | None) -> tuple[Customer, CustomerMetrics]:
        """A made-up customer for checking and previewing templates."""
        name = "Nguyễn Thị Lan" if language == "vi" else "Jane Doe"
        customer = Customer(
            id=0,
            code="KH00000",
            kind=CustomerKind.INDIVIDUAL,
            name=name,
            region="Hà Nội" if language == "vi" else "Hanoi",
            language=language,
        )
        metrics = CustomerMetrics(customer_id=0, tier=tier, segment="loyal")
        return customer, metrics

    def check(self, spec: CampaignSpec) -> None:
        """Raise TemplateProblem (naming language and tier) unless every variant renders."""
        tiers: list[str | None] = [*spec.offers.keys(), None]
        for language in LANGUAGES:
            for tier in tiers:
                customer, metrics = self.sample_customer(language, tier)
                context = self.context(spec, customer, metrics)
                try:
                    self.message_for(spec, context)(language)
                except TemplateProblem as exc:
                    where = f"template ({language}{', tier ' + tier if tier else ''})"
                    raise TemplateProblem(f"{where}: {exc}") from None

    def preview_spec(self, spec: CampaignSpec, tier: str | None = None) -> dict[str, Message]:
        """The message of a campaign being written, in each language, for a sample customer
        of ``tier`` (or of its first tier with an offer); raises TemplateProblem."""
        tier = tier or next(iter(spec.offers), None)
        previews = {}
        for language in LANGUAGES:
            customer, metrics = self.sample_customer(language, tier)
            previews[language] = self.message_for(spec, self.context(spec, customer, metrics))(
                language
            )
        return previews

    # --- create, find, list ---------------------------------------------------------------

    async def create(self, spec: CampaignSpec) -> Campaign:
        """Check and store a campaign: scheduled if it has a start time, a draft otherwise."""
        self.check(spec)
        async with self.db.uow() as uow:
            if await uow.session.scalar(select(Campaign.id).where(Campaign.name == spec.name)):
                raise CampaignError(f"a campaign named {spec.name!r} exists already")
            now = self.clock()
            campaign = Campaign(
                name=spec.name,
                kind=spec.kind,
                category=MessageCategory.MARKETING,
                audience={
                    **spec.audience.model_dump(exclude_defaults=True),
                    "holdout": spec.holdout,
                    "measure_days": spec.measure_days,
                    **({"voucher": spec.voucher.model_dump()} if spec.voucher else {}),
                },
                channel_preference=spec.channel,
                subject=dict(spec.subject),
                template=dict(spec.template),
                offers=dict(spec.offers),
                scheduled_at=spec.schedule,
                status=CampaignStatus.SCHEDULED if spec.schedule else CampaignStatus.DRAFT,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(campaign)
            await uow.commit()
        return campaign

    async def get(self, name: str) -> Campaign:
        async with self.db.uow() as uow:
            campaign = await uow.session.scalar(select(Campaign).where(Campaign.name == name))
            uow.session.expunge_all()  # readable after the unit of work ends
        if campaign is None:
            raise CampaignError(f"no campaign named {name!r}")
        return campaign

    async def list(self) -> list[Campaign]:
        async with self.db.uow() as uow:
            campaigns = list(await uow.session.scalars(select(Campaign).order_by(Campaign.id)))
            uow.session.expunge_all()
        return campaigns

    async def schedule(self, name: str, at: datetime) -> Campaign:
        """Set (or move) the start of a campaign that has not started."""
        campaign = await self.get(name)
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign.id,
                    Campaign.status.in_([CampaignStatus.DRAFT, CampaignStatus.SCHEDULED]),
                )
                .values(scheduled_at=at, status=CampaignStatus.SCHEDULED, updated_at=self.clock())
            )
            if not result.rowcount:  # type: ignore[attr-defined]  # DML runs give a CursorResult
                raise CampaignError(f"campaign {name!r} has already started ({campaign.status})")
            await uow.commit()
        return await self.get(name)

    # --- audience -----------------------------------------------------------------------

    async def audience(
        self, session: AsyncSession, campaign: Campaign
    ) -> builtins.list[tuple[Customer, CustomerMetrics | None]]:
        """The customers a campaign is for, with their segmentation (erased ones never)."""
        spec = Audience.model_validate(
            {k: v for k, v in (campaign.audience or {}).items() if k not in MEASURE_KEYS}
        )
        metrics = aliased(CustomerMetrics)
        query = (
            select(Customer, metrics)
            .outerjoin(metrics, metrics.customer_id == Customer.id)
            .where(Customer.erased_at.is_(None))
            .order_by(Customer.id)
        )
        if spec.tiers:
            query = query.where(metrics.tier.in_(spec.tiers))
        if spec.segments:
            query = query.where(metrics.segment.in_(spec.segments))
        if spec.kind:
            query = query.where(Customer.kind == spec.kind)
        if spec.regions:
            query = query.where(Customer.region.in_(spec.regions))
        if spec.product_categories:
            query = query.where(Customer.id.in_(same_need(spec.product_categories)))
        if spec.customers:
            query = query.where(Customer.code.in_(spec.customers))
        if spec.consent == "telegram":
            query = query.where(Customer.consent_telegram.is_(True))
        elif spec.consent == "email":
            query = query.where(Customer.consent_email.is_(True))
        elif spec.consent == "any":
            query = query.where(
                Customer.consent_telegram.is_(True) | Customer.consent_email.is_(True)
            )
        members: list[tuple[Customer, CustomerMetrics | None]] = []
        while True:  # a page at a time: loading ORM objects is Python on the event loop
            after = members[-1][0].id if members else 0
            page = (await session.execute(query.where(Customer.id > after).limit(PAGE))).all()
            members.extend((row[0], row[1]) for row in page)
            if len(page) < PAGE:
                return members

    async def _todo(
        self, session: AsyncSession, campaign: Campaign, now: datetime
    ) -> tuple[builtins.list[tuple[Customer, CustomerMetrics | None]], dict[int, int]]:
        """The audience members whose key is not spent, and their recent marketing counts."""
        members = await self.audience(session, campaign)
        since = now - timedelta(days=self.settings.frequency_cap_days)
        counts = await recent_marketing_counts(session, [c.id for c, _ in members], since)
        spent = await existing_keys(session, [_campaign_key(campaign.id, c.id) for c, _ in members])
        todo = [m for m in members if _campaign_key(campaign.id, m[0].id) not in spent]
        return todo, counts

    async def _plan_all(
        self,
        session: AsyncSession,
        campaign: Campaign,
        now: datetime,
        todo: builtins.list[tuple[Customer, CustomerMetrics | None]] | None = None,
        counts: dict[int, int] | None = None,
        codes: dict[int, str] | None = None,
    ) -> builtins.list[tuple[Customer, dict[str, Any], Route | Skip]]:
        """Every audience member's row and route, but for those whose key is spent (or the
        ``todo`` given, with their voucher ``codes``).

        Rendering and building the e-mails is most of a campaign's work (about a
        millisecond a customer): it runs in a worker process (care.core.workers), ``PLAN_BATCH``
        customers at a time, so the bot keeps answering customers meanwhile.
        """
        if todo is None or counts is None:
            todo, counts = await self._todo(session, campaign, now)
        planned: list[tuple[Customer, dict[str, Any], Route | Skip]] = []
        if not todo:
            return planned
        async with worker() as work:
            for start in range(0, len(todo), PLAN_BATCH):
                batch = todo[start : start + PLAN_BATCH]
                mine = {c.id: counts[c.id] for c, _ in batch if c.id in counts}
                theirs = {c.id: codes[c.id] for c, _ in batch if codes and c.id in codes}
                keys = self.outbox.keys.detached()
                rows = await work(
                    plan_batch, self.settings, keys, campaign, batch, mine, now, theirs
                )
                planned += [
                    (customer, row, route)
                    for (customer, _), (row, route) in zip(batch, rows, strict=True)
                ]
        return planned

    def _plan_batch(
        self,
        campaign: Campaign,
        members: builtins.list[tuple[Customer, CustomerMetrics | None]],
        counts: dict[int, int],
        now: datetime,
        codes: dict[int, str] | None = None,
    ) -> builtins.list[tuple[dict[str, Any], Route | Skip]]:
        """The row and route of each of some audience members (no database needed)."""
        planned = []
        for customer, metrics in members:
            key = _campaign_key(campaign.id, customer.id)
            context = self.context(campaign, customer, metrics)
            if codes and customer.id in codes:
                context["voucher"] = codes[customer.id]
            build = self.message_for(campaign, context)
            fields: dict[str, Any] = {  # the same for the message and for its skip
                "key": key,
                "category": campaign.category,
                "template": f"campaign:{campaign.id}",
                "now": now,
                "preference": campaign.channel_preference,
                "campaign_id": campaign.id,
            }
            try:
                placed = self.outbox.plan(
                    customer, message=build, recent_marketing=counts.get(customer.id, 0), **fields
                )
            except TemplateProblem:
                placed = self.outbox.skipped(customer, reason=SKIP_TEMPLATE_ERROR, **fields)
            planned.append((placed.row, placed.route))
        return planned

    async def dry_run(self, name: str) -> DryRun:
        """Who would get the campaign now, on which channel, and who would be skipped, why."""
        campaign = await self.get(name)
        now, report = self.clock(), DryRun()
        async with self.db.uow() as uow:
            planned = await self._plan_all(uow.session, campaign, now)
            report.held_out = int(len(planned) * holdout_share(campaign))
            for customer, _row, route in planned:
                report.audience += 1
                if isinstance(route, Skip):
                    report.skipped[route.reason] += 1
                    report.skipped_customers.append((customer.code, route.reason))
                    continue
                report.channels[route.channel] += 1
                if route.not_before > now:
                    report.delayed += 1
                    report.delayed_until = route.not_before
        return report

    async def preview(self, name: str, customer_code: str | None = None) -> dict[str, Message]:
        """The message in each language, for a real customer (by code) or a sample one."""
        campaign = await self.get(name)
        previews = {}
        real: tuple[Customer, CustomerMetrics | None] | None = None
        if customer_code:
            async with self.db.uow() as uow:
                row = (
                    await uow.session.execute(
                        select(Customer, CustomerMetrics)
                        .outerjoin(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                        .where(Customer.code == customer_code)
                    )
                ).first()
                uow.session.expunge_all()
            if row is None:
                raise CampaignError(f"no customer with code {customer_code!r}")
            real = (row[0], row[1])
        for language in LANGUAGES:
            tier = next(iter(campaign.offers), None) if campaign.offers else None
            customer, metrics = real or self.sample_customer(language, tier)
            build = self.message_for(campaign, self.context(campaign, customer, metrics))
            previews[language] = build(language)
        return previews

    # --- running ------------------------------------------------------------------------

    async def start(self, name: str) -> int:
        """Start a campaign now: queue every audience member's message in one transaction.

        Returns the number of rows queued (skips included). A campaign already started by
        another process is left alone (returns 0).
        """
        campaign = await self.get(name)
        return await self._start(campaign.id)

    async def _start(self, campaign_id: int) -> int:
        """Plan every message, then claim the campaign and queue them in one transaction.

        Planning only reads, so on SQLite, where one writer at a time holds the database,
        the bot's writes go on while the messages are rendered; the transaction that
        writes is the short one at the end. Should another process start the campaign
        meanwhile, the claim finds it started and this plan is dropped.
        """
        now = self.clock()
        startable = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
        async with self.db.uow() as uow:
            campaign = await uow.session.get(Campaign, campaign_id)
            if campaign is None or campaign.status not in startable:
                return 0
            todo, counts = await self._todo(uow.session, campaign, now)
            ids = [c.id for c, _ in todo]  # read before the unit of work ends
            held = choose_holdout(ids, holdout_share(campaign))
            contacted = [m for m in todo if m[0].id not in held]
            offer = (campaign.audience or {}).get("voucher")
            codes = {c.id: new_code() for c, _ in contacted} if offer else {}
            planned = await self._plan_all(uow.session, campaign, now, contacted, counts, codes)
            issued = (
                [
                    _voucher_row(campaign, offer, customer_id, code, now, self.settings)
                    for customer_id, code in codes.items()
                ]
                if offer
                else []
            )
        assignments = assignment_rows(
            {cid: _campaign_key(campaign_id, cid) for cid in ids},
            held,
            programme="campaign",
            now=now,
            campaign_id=campaign_id,
        )
        async with self.db.uow() as uow:
            # Rows first: on SQLite the write lock is taken once they are ready to go in.
            queued = await enqueue_rows(uow.session, [row for _, row, _ in planned])
            result = await uow.session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.status.in_(startable))
                .values(status=CampaignStatus.RUNNING, started_at=now, updated_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]  # DML runs give a CursorResult
                return 0  # started elsewhere meanwhile: these rows roll back
            # Who was contacted and who held out, for the campaign's effect report.
            for start in range(0, len(assignments), PAGE):
                await uow.session.execute(insert(CareAssignment), assignments[start : start + PAGE])
            # The codes the messages carry, in the transaction that queues them.
            for start in range(0, len(issued), PAGE):
                await uow.session.execute(insert(Voucher), issued[start : start + PAGE])
            await uow.commit()
        return queued

    async def start_due(self) -> int:
        """Start every scheduled campaign whose time has come (the scheduler's scan)."""
        now = self.clock()
        async with self.db.uow() as uow:
            due = list(
                await uow.session.scalars(
                    select(Campaign.id).where(
                        Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now
                    )
                )
            )
        total = 0
        for campaign_id in due:
            total += await self._start(campaign_id)
        return total

    async def cancel(self, name: str) -> CampaignProgress:
        """Stop a campaign: nothing more of it goes out.

        A draft or scheduled campaign never starts. A running one has every message still
        waiting skipped (reason ``cancelled``) and the staff chat gets its summary. Messages
        already sent stay sent, and those a dispatcher has claimed for sending at this
        instant (at most a group of ``scheduler.dispatcher.CLAIM_GROUP``) still go out; if
        that dispatcher stops before sending them, they are skipped too.
        """
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
            if campaign is None:
                raise CampaignError(f"no campaign named {name!r}")
            was_running = campaign.status == CampaignStatus.RUNNING
            result = await session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign.id,
                    Campaign.status.in_(
                        [CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING]
                    ),
                )
                .values(status=CampaignStatus.CANCELLED, finished_at=now, updated_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]  # DML runs give a CursorResult
                raise CampaignError(f"campaign {name!r} is {campaign.status} already")
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.campaign_id == campaign.id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(status=OutboxStatus.SKIPPED, skip_reason=SKIP_CANCELLED)
            )
            await session.refresh(campaign)
            progress = await self._progress(session, campaign)
            if was_running:
                sent = await self.outbox.to_staff(
                    session,
                    key=f"campaign-summary:{campaign.id}",
                    body=self.summary(progress, cancelled=True),
                    now=now,
                )
                campaign.summary_sent_at = now if sent else None
            await uow.commit()
        return progress

    async def progress(self, name: str) -> CampaignProgress:
        campaign = await self.get(name)
        async with self.db.uow() as uow:
            return await self._progress(uow.session, campaign)

    async def _progress(self, session: AsyncSession, campaign: Campaign) -> CampaignProgress:
        rows = await session.execute(
            select(OutboxMessage.status, OutboxMessage.skip_reason, func.count())
            .where(OutboxMessage.campaign_id == campaign.id)
            .group_by(OutboxMessage.status, OutboxMessage.skip_reason)
        )
        statuses: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for status, reason, count in rows:
            statuses[status] += count
            if status == OutboxStatus.SKIPPED:
                skipped[reason or "unknown"] += count
        return CampaignProgress(campaign, statuses, skipped)

    async def finish_done(self) -> builtins.list[str]:
        """Mark running campaigns with nothing left to send as done, and queue each one's
        summary for the staff chat in the same transaction. Returns their names."""
        now = self.clock()
        finished = []
        async with self.db.uow() as uow:
            session = uow.session
            running = list(
                await session.scalars(
                    select(Campaign).where(Campaign.status == CampaignStatus.RUNNING)
                )
            )
            for campaign in running:
                progress = await self._progress(session, campaign)
                if progress.open:
                    continue
                campaign.status = CampaignStatus.DONE
                campaign.finished_at = now
                campaign.updated_at = now
                body = self.summary(progress)
                if await self.outbox.to_staff(
                    session, key=f"campaign-summary:{campaign.id}", body=body, now=now
                ):
                    campaign.summary_sent_at = now
                finished.append(campaign.name)
            await uow.commit()
        return finished

    def summary(self, progress: CampaignProgress, *, cancelled: bool = False) -> str:
        """The staff chat's report of a finished (or cancelled) campaign, in the shop's
        language."""
        language = self.settings.default_language
        skipped = [
            (self._reason_label(language, reason), count)
            for reason, count in sorted(progress.skipped.items())
        ]
        return self.renderer.chat(
            language,
            "care_campaign_summary",
            campaign=progress.campaign.name,
            cancelled=cancelled,
            total=progress.total,
            sent=progress.statuses[OutboxStatus.SENT],
            failed=progress.statuses[OutboxStatus.FAILED],
            uncertain=progress.statuses[OutboxStatus.UNCERTAIN],
            skipped=skipped,
        )

    def _reason_label(self, language: str, reason: str) -> str:
        return self.renderer.label_or(language, f"care.skip.{reason}", reason)


def plan_batch(
    settings: Settings,
    keys: Keys,
    campaign: Campaign,
    members: list[tuple[Customer, CustomerMetrics | None]],
    counts: dict[int, int],
    now: datetime,
    codes: dict[int, str] | None = None,
) -> list[tuple[dict[str, Any], Route | Skip]]:
    """``Campaigns._plan_batch`` in a worker process (no database: planning needs none).
    The planner is made per batch; compiling the templates again costs little beside
    rendering hundreds of messages."""
    renderer = Renderer(timezone=settings.timezone, default_language=settings.default_language)
    # Planning never touches the database, so the worker's planner has none.
    outbox = Outbox(settings, renderer, None, keys)  # type: ignore[arg-type]
    planner = Campaigns(settings, None, renderer, outbox, utcnow)  # type: ignore[arg-type]
    return planner._plan_batch(campaign, members, counts, now, codes)


def _voucher_value(campaign: Campaign | CampaignSpec) -> str:
    """What a campaign's voucher is worth, as its messages say it (``100.000 ₫``, ``10%``)."""
    if isinstance(campaign, CampaignSpec):
        offer = campaign.voucher.model_dump() if campaign.voucher else None
    else:
        offer = (campaign.audience or {}).get("voucher")
    if not offer:
        return ""
    return describe(offer["kind"], int(offer["value"]))


def _voucher_row(
    campaign: Campaign,
    offer: dict[str, Any],
    customer_id: int,
    code: str,
    now: datetime,
    settings: Settings,
) -> dict[str, Any]:
    today = to_local(now, settings.timezone).date()
    return {
        "code": code,
        "kind": offer["kind"],
        "value": int(offer["value"]),
        "campaign_id": campaign.id,
        "customer_id": customer_id,
        "tiers": list(offer.get("tiers") or []),
        "valid_from": today,
        "valid_until": today + timedelta(days=int(offer.get("valid_days", 30))),
        "issued_for": f"campaign:{campaign.id}",
        "issued_at": now,
        "redeemed_at": None,
        "order_id": None,
        "redeemed_by_id": None,
    }
