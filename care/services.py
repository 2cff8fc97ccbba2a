"""The care services of one process, built in one place and handed to the front ends.

The bot receives them through ``build_application(settings, services)`` and keeps them in
``bot_data``; the scheduler and the CLI receive the same object. Each service owns one
area of the domain and opens its own unit of work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from care.analytics import Loyalty, Reports, Segmentation
from care.core.db import Database
from care.core.interactions import InteractionLog
from care.core.keys import Keys
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import utcnow
from care.customers import CustomerCards, CustomerService, Policies, StaffService
from care.faq import FaqService
from care.io import DEMO_FAQ, SeedReport
from care.io import seed_demo as write_demo_shop
from care.orders import OrderService
from care.outreach import CareProgramme, Outbox
from care.tickets import ComplaintService, ComplaintStats, DeadlineWatch, SurveyService


@dataclass
class Services:
    """Everything a front end needs; created by ``build_services``, closed by ``close``."""

    settings: Settings
    db: Database
    renderer: Renderer
    keys: Keys
    interactions: InteractionLog
    faq: FaqService
    care: CareProgramme
    customers: CustomerService
    orders: OrderService
    staff: StaffService
    complaints: ComplaintService
    deadlines: DeadlineWatch
    surveys: SurveyService
    complaint_stats: ComplaintStats
    segmentation: Segmentation
    loyalty: Loyalty
    policies: Policies
    customer_cards: CustomerCards
    reports: Reports
    clock: Callable[[], datetime] = utcnow

    async def start(self) -> None:
        """Bring the schema up to date, load the signing keys and warm what is built once
        (the FAQ index)."""
        await self.db.upgrade()
        await self.keys.load()
        await self.faq.load()

    async def close(self) -> None:
        await self.db.dispose()

    async def seed_demo(self, *, customers: int = 300, seed: int = 7) -> SeedReport:
        """Fill the database with the demo shop and its FAQ; a second run adds nothing."""
        report = await write_demo_shop(
            self.db, self.clock(), self.settings.timezone, customers=customers, seed=seed
        )
        faq = await self.faq.import_file(DEMO_FAQ)
        if not faq.ok:  # the shipped file is checked by the tests; this is a broken install
            raise RuntimeError("; ".join(str(error) for error in faq.errors))
        report.faq_created, report.faq_updated = faq.created, faq.updated
        return report


def build_services(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Services:
    """The composition root of the domain: one Database, one Renderer, the services."""
    db = database or Database(settings.database_url, schema=settings.database_schema)
    renderer = Renderer(timezone=settings.timezone, default_language=settings.default_language)
    segmentation = Segmentation(db, settings, clock)
    loyalty = Loyalty(db, settings, clock)
    policies = Policies(db, settings, renderer, clock)
    keys = Keys(settings, db)
    outbox = Outbox(settings, renderer, db, keys)
    complaints = ComplaintService(settings, db, clock)
    return Services(
        settings=settings,
        db=db,
        renderer=renderer,
        keys=keys,
        interactions=InteractionLog(db, clock),
        faq=FaqService(db, settings, clock),
        care=CareProgramme(settings, db, renderer, outbox, clock),
        customers=CustomerService(db, settings, renderer, outbox, clock),
        orders=OrderService(db),
        staff=StaffService(db),
        complaints=complaints,
        deadlines=DeadlineWatch(settings, db, renderer, outbox, clock),
        surveys=SurveyService(db, complaints, clock),
        complaint_stats=ComplaintStats(settings, db, clock),
        segmentation=segmentation,
        loyalty=loyalty,
        policies=policies,
        customer_cards=CustomerCards(db, policies),
        reports=Reports(db, settings, renderer, segmentation, loyalty, clock),
        clock=clock,
    )


@asynccontextmanager
async def open_services(settings: Settings, **kwargs: object) -> AsyncIterator[Services]:
    """Services started and closed around a block: for CLI commands and scripts."""
    services = build_services(settings, **kwargs)  # type: ignore[arg-type]
    await services.start()
    try:
        yield services
    finally:
        await services.close()
