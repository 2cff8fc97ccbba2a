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

from care.complaint_stats import ComplaintStats
from care.complaints import ComplaintService
from care.customer_card import CustomerCards
from care.customers import CustomerService
from care.db import Database
from care.faq import FaqService
from care.interactions import InteractionLog
from care.loyalty import Loyalty
from care.orders import OrderService
from care.policies import Policies
from care.programme import CareProgramme
from care.rendering import Renderer
from care.reports import Reports
from care.segmentation import Segmentation
from care.settings import Settings
from care.staff import StaffService
from care.surveys import SurveyService
from care.text import utcnow


@dataclass
class Services:
    """Everything a front end needs; created by ``build_services``, closed by ``close``."""

    settings: Settings
    db: Database
    renderer: Renderer
    interactions: InteractionLog
    faq: FaqService
    care: CareProgramme
    customers: CustomerService
    orders: OrderService
    staff: StaffService
    complaints: ComplaintService
    surveys: SurveyService
    complaint_stats: ComplaintStats
    segmentation: Segmentation
    loyalty: Loyalty
    policies: Policies
    customer_cards: CustomerCards
    reports: Reports
    clock: Callable[[], datetime] = utcnow

    async def start(self) -> None:
        """Bring the schema up to date and warm what is built once (the FAQ index)."""
        await self.db.upgrade()
        await self.faq.load()

    async def close(self) -> None:
        await self.db.dispose()


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
    care = CareProgramme(settings, db, renderer, clock)
    return Services(
        settings=settings,
        db=db,
        renderer=renderer,
        interactions=InteractionLog(db, clock),
        faq=FaqService(db, settings, clock),
        care=care,
        customers=CustomerService(db, settings, renderer, clock),
        orders=OrderService(db),
        staff=StaffService(db),
        complaints=ComplaintService(settings, db, clock, outbox=care.outbox),
        surveys=SurveyService(db, ComplaintService(settings, db, clock), clock),
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
