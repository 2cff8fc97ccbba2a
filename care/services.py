"""The care services of one process, built in one place and handed to the front ends.

The bot receives them through ``build_application(settings, services)`` and keeps them in
``bot_data``; the scheduler and the CLI receive the same object. Each service owns one
area of the domain and opens its own unit of work.

Each service is built on first use, and its module imported then: a command that lists the
staff does not import numpy, scipy and matplotlib for the segmentation and the reports it
never touches. A long-running process builds them all at ``start``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from care.core.db import Database
from care.core.keys import Keys
from care.core.settings import Settings
from care.core.text import utcnow

if TYPE_CHECKING:
    from care.analytics import (
        CampaignEffects,
        Dashboard,
        Loyalty,
        ProductReports,
        Reports,
        Segmentation,
    )
    from care.core.interactions import InteractionLog
    from care.core.rendering import Renderer
    from care.customers import (
        ConsoleAccess,
        Contacts,
        CustomerCards,
        CustomerService,
        Habits,
        Policies,
        SlippingWatch,
        StaffService,
    )
    from care.faq import FaqDigest, FaqService
    from care.integration import ApiKeys, IdempotencyStore, Ingest, Webhooks
    from care.io import SeedReport
    from care.orders import Catalogue, OrderService
    from care.outreach import CareProgramme, Outbox
    from care.tickets import (
        ComplaintService,
        ComplaintStats,
        DeadlineWatch,
        StaffPerformance,
        SurveyService,
    )
    from care.vouchers import Vouchers


@dataclass
class Services:
    """Everything a front end needs; created by ``build_services``, closed by ``close``."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow

    async def start(self, *, warm: bool = True) -> None:
        """Bring the schema up to date; with ``warm``, build every service and the FAQ index.

        A long-running process warms at start, so no customer waits on their first message
        for an import or an index; a one-shot command builds only what it uses.
        """
        await self.db.upgrade()
        await self.keys.load()
        if warm:
            for name in SERVICE_NAMES:
                getattr(self, name)
            await self.faq.load()

    async def close(self) -> None:
        if "ingest" in self.__dict__:  # built: a background re-classification may run
            await self.ingest.close()
        await self.db.dispose()

    async def seed_demo(self, *, customers: int = 300, seed: int = 7) -> SeedReport:
        """Fill the database with the demo shop and its FAQ; a second run adds nothing.

        Segmentation runs once the customers are in (or when it never ran), so tiers, LTV and
        CLV show from the demo's first message instead of after the first night.
        """
        from care.io import DEMO_FAQ, write_demo_shop

        report = await write_demo_shop(
            self.db, self.clock(), self.settings.timezone, customers=customers, seed=seed
        )
        faq = await self.faq.import_file(DEMO_FAQ)
        if not faq.ok:  # the shipped file is checked by the tests; this is a broken install
            raise RuntimeError("; ".join(str(error) for error in faq.errors))
        report.faq_created, report.faq_updated = faq.created, faq.updated
        if not report.already_seeded or await self.segmentation.last_run() is None:
            report.segmentation = await self.segmentation.recompute()
        from care.analytics import write_care_demo

        report.care = await write_care_demo(
            self.db,
            self.settings,
            self.clock,
            self.vouchers,
            self.contacts,
            self.slipping,
            seed=seed,
        )
        return report

    @cached_property
    def renderer(self) -> Renderer:
        """The one renderer of templates, in the shop's time zone and default language."""
        from care.core.rendering import Renderer

        return Renderer(
            timezone=self.settings.timezone, default_language=self.settings.default_language
        )

    @cached_property
    def interactions(self) -> InteractionLog:
        from care.core.interactions import InteractionLog

        return InteractionLog(self.db, self.clock)

    @cached_property
    def faq(self) -> FaqService:
        from care.faq import FaqService

        return FaqService(self.db, self.settings, self.clock)

    @cached_property
    def faq_digest(self) -> FaqDigest:
        from care.faq import FaqDigest

        return FaqDigest(self.settings, self.db, self.renderer, self.outbox, self.faq, self.clock)

    @cached_property
    def keys(self) -> Keys:
        """The keys that sign links (and, later, sessions); loaded by ``start``."""
        return Keys(self.settings, self.db)

    @cached_property
    def outbox(self) -> Outbox:
        """The one outbox every service queues its messages through."""
        from care.outreach import Outbox

        return Outbox(self.settings, self.renderer, self.db, self.keys)

    @cached_property
    def care(self) -> CareProgramme:
        from care.outreach import CareProgramme

        return CareProgramme(self.settings, self.db, self.renderer, self.outbox, self.clock)

    @cached_property
    def customers(self) -> CustomerService:
        from care.customers import CustomerService

        return CustomerService(self.db, self.settings, self.renderer, self.outbox, self.clock)

    @cached_property
    def contacts(self) -> Contacts:
        from care.customers import Contacts

        return Contacts(self.db, self.settings, self.renderer, self.outbox, self.clock)

    @cached_property
    def vouchers(self) -> Vouchers:
        from care.vouchers import Vouchers

        return Vouchers(self.db, self.settings, self.clock)

    @cached_property
    def orders(self) -> OrderService:
        from care.orders import OrderService

        return OrderService(self.db)

    @cached_property
    def staff(self) -> StaffService:
        from care.customers import StaffService

        return StaffService(self.db)

    @cached_property
    def console(self) -> ConsoleAccess:
        """Login links, sessions and the audit log of the web console."""
        from care.customers import ConsoleAccess

        return ConsoleAccess(self.db, self.settings, self.clock)

    @cached_property
    def complaints(self) -> ComplaintService:
        from care.tickets import ComplaintService

        return ComplaintService(self.settings, self.db, self.clock, outbox=self.outbox)

    @cached_property
    def deadlines(self) -> DeadlineWatch:
        from care.tickets import DeadlineWatch

        return DeadlineWatch(self.settings, self.db, self.renderer, self.outbox, self.clock)

    @cached_property
    def surveys(self) -> SurveyService:
        from care.outreach import SurveyLinks
        from care.tickets import SurveyService

        return SurveyService(
            self.db, self.complaints, self.clock, SurveyLinks(self.settings, self.keys)
        )

    @cached_property
    def complaint_stats(self) -> ComplaintStats:
        from care.tickets import ComplaintStats

        return ComplaintStats(self.settings, self.db, self.clock)

    @cached_property
    def staff_performance(self) -> StaffPerformance:
        from care.tickets import StaffPerformance

        return StaffPerformance(self.settings, self.db, self.clock)

    @cached_property
    def segmentation(self) -> Segmentation:
        from care.analytics import Segmentation

        return Segmentation(self.db, self.settings, self.clock)

    @cached_property
    def loyalty(self) -> Loyalty:
        from care.analytics import Loyalty

        return Loyalty(self.db, self.settings, self.clock)

    @cached_property
    def effects(self) -> CampaignEffects:
        from care.analytics import CampaignEffects

        return CampaignEffects(self.db, self.settings, self.clock)

    @cached_property
    def policies(self) -> Policies:
        from care.customers import Policies

        return Policies(self.db, self.settings, self.renderer, self.clock)

    @cached_property
    def customer_cards(self) -> CustomerCards:
        from care.customers import CustomerCards

        return CustomerCards(self.db, self.policies, self.settings.timezone)

    @cached_property
    def slipping(self) -> SlippingWatch:
        from care.customers import SlippingWatch

        return SlippingWatch(
            self.db,
            self.settings,
            self.renderer,
            self.outbox,
            self.contacts,
            self.policies,
            self.clock,
        )

    @cached_property
    def habits(self) -> Habits:
        from care.customers import Habits

        return Habits(self.db, self.settings, self.clock)

    @cached_property
    def dashboard(self) -> Dashboard:
        """The console's dashboard figures."""
        from care.analytics import Dashboard

        return Dashboard(self.db, self.settings, self.clock)

    @cached_property
    def reports(self) -> Reports:
        from care.analytics import Reports

        return Reports(
            self.db, self.settings, self.renderer, self.segmentation, self.loyalty, self.clock
        )

    @cached_property
    def products(self) -> Catalogue:
        """The product catalogue (import and API write it; the console reads it)."""
        from care.orders import Catalogue

        return Catalogue(self.db)

    @cached_property
    def product_reports(self) -> ProductReports:
        """Units, revenue and margin by product and month; top products per tier; unmet
        demand by product; same-need audiences."""
        from care.analytics import ProductReports

        return ProductReports(self.db, self.settings, self.clock)

    @cached_property
    def api_keys(self) -> ApiKeys:
        """The HTTP API's keys: make (shown once), list, revoke, check."""
        from care.integration import ApiKeys

        return ApiKeys(self.db, self.clock)

    @cached_property
    def ingest(self) -> Ingest:
        """Customers, orders and products pushed by the shop's systems (the HTTP API)."""
        from care.integration import Ingest

        return Ingest(self.settings, self.db, self.care, self.segmentation, self.clock)

    @cached_property
    def webhooks(self) -> Webhooks:
        """Integrators' webhook subscriptions and their delivery log."""
        from care.integration import Webhooks

        return Webhooks(self.db, self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from care.integration import IdempotencyStore

        return IdempotencyStore(self.db, self.clock, self.settings.api_idempotency_hours)


SERVICE_NAMES = tuple(
    name for name, value in vars(Services).items() if isinstance(value, cached_property)
)


def build_services(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Services:
    """The composition root of the domain: one Database, one Renderer, the services."""
    db = database or Database(settings.database_url, schema=settings.database_schema)
    return Services(settings=settings, db=db, clock=clock)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    warm: bool = True,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Services]:
    """Services started and closed around a block: for CLI commands and scripts."""
    services = build_services(settings, database=database, clock=clock)
    await services.start(warm=warm)
    try:
        yield services
    finally:
        await services.close()
