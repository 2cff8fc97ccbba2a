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

from care.db import Database
from care.settings import Settings
from care.text import utcnow

if TYPE_CHECKING:
    from care.complaint_stats import ComplaintStats
    from care.complaints import ComplaintService
    from care.customer_card import CustomerCards
    from care.customers import CustomerService
    from care.faq import FaqService
    from care.interactions import InteractionLog
    from care.loyalty import Loyalty
    from care.orders import OrderService
    from care.policies import Policies
    from care.programme import CareProgramme
    from care.rendering import Renderer
    from care.reports import Reports
    from care.segmentation import Segmentation
    from care.staff import StaffService
    from care.surveys import SurveyService


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
        if warm:
            for name in SERVICE_NAMES:
                getattr(self, name)
            await self.faq.load()

    async def close(self) -> None:
        await self.db.dispose()

    @cached_property
    def renderer(self) -> Renderer:
        """The one renderer of templates, in the shop's time zone and default language."""
        from care.rendering import Renderer

        return Renderer(
            timezone=self.settings.timezone, default_language=self.settings.default_language
        )

    @cached_property
    def interactions(self) -> InteractionLog:
        from care.interactions import InteractionLog

        return InteractionLog(self.db, self.clock)

    @cached_property
    def faq(self) -> FaqService:
        from care.faq import FaqService

        return FaqService(self.db, self.settings, self.clock)

    @cached_property
    def care(self) -> CareProgramme:
        from care.programme import CareProgramme

        return CareProgramme(self.settings, self.db, self.renderer, self.clock)

    @cached_property
    def customers(self) -> CustomerService:
        from care.customers import CustomerService

        return CustomerService(self.db, self.settings, self.renderer, self.clock)

    @cached_property
    def orders(self) -> OrderService:
        from care.orders import OrderService

        return OrderService(self.db)

    @cached_property
    def staff(self) -> StaffService:
        from care.staff import StaffService

        return StaffService(self.db)

    @cached_property
    def complaints(self) -> ComplaintService:
        from care.complaints import ComplaintService

        return ComplaintService(self.settings, self.db, self.clock)

    @cached_property
    def surveys(self) -> SurveyService:
        from care.surveys import SurveyService

        return SurveyService(self.db, self.complaints, self.clock)

    @cached_property
    def complaint_stats(self) -> ComplaintStats:
        from care.complaint_stats import ComplaintStats

        return ComplaintStats(self.settings, self.db, self.clock)

    @cached_property
    def segmentation(self) -> Segmentation:
        from care.segmentation import Segmentation

        return Segmentation(self.db, self.settings, self.clock)

    @cached_property
    def loyalty(self) -> Loyalty:
        from care.loyalty import Loyalty

        return Loyalty(self.db, self.settings, self.clock)

    @cached_property
    def policies(self) -> Policies:
        from care.policies import Policies

        return Policies(self.db, self.settings, self.renderer, self.clock)

    @cached_property
    def customer_cards(self) -> CustomerCards:
        from care.customer_card import CustomerCards

        return CustomerCards(self.db, self.policies)

    @cached_property
    def reports(self) -> Reports:
        from care.reports import Reports

        return Reports(
            self.db, self.settings, self.renderer, self.segmentation, self.loyalty, self.clock
        )


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
    settings: Settings, *, warm: bool = True, **kwargs: object
) -> AsyncIterator[Services]:
    """Services started and closed around a block: for CLI commands and scripts."""
    services = build_services(settings, **kwargs)  # type: ignore[arg-type]
    await services.start(warm=warm)
    try:
        yield services
    finally:
        await services.close()
