"""Customers, orders and products pushed by the shop's own systems (the HTTP API).

The API's items go through the checks and the writing of a file import
(``care.io.upsert_*_records``): same fields, same normalisation, same messages; all
items of a request or none. What an import of orders sets off follows at once: an order
recorded as delivered queues its thank-you in the same transaction (due a set time after
``delivered_at``, under the scan's own key, so it is sent once however often the order is
pushed), and the customers concerned are re-classified (tier, segment, lifetime value).
A few customers are re-classified before the answer; a batch's many are left to one
background task that takes them together, so a sales system pushing a thousand orders
does not wait on a thousand re-scorings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from care.core.db import Database
from care.core.models import (
    Customer,
    Order,
    OrderKind,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
)
from care.core.settings import Settings
from care.core.text import to_local
from care.io import (
    ImportLimits,
    RowError,
    upsert_customer_records,
    upsert_order_records,
    upsert_product_records,
)
from care.outreach import CareProgramme

if TYPE_CHECKING:  # numpy and scipy are imported when segmentation is first used
    from care.analytics import Segmentation

log = logging.getLogger("carebot.api")

# Up to this many customers are re-classified before a request is answered.
RECLASSIFY_INLINE = 20
SKIP_ORDER_CHANGED = "order_changed"


@dataclass
class IngestResult:
    """What a push did, or (``errors`` not empty) why it did nothing."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    thanks_queued: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class Ingest:
    """Create or update by the shop's own codes; read a customer or an order back."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        care: CareProgramme,
        segmentation: Segmentation,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.care = care
        self.segmentation = segmentation
        self.clock = clock
        self.limits = ImportLimits.from_settings(settings)
        self._waiting: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    # --- writing ---------------------------------------------------------------------------

    async def customers(self, records: Sequence[Any]) -> IngestResult:
        async with self.db.uow() as uow:
            report = await upsert_customer_records(uow.session, records, limits=self.limits)
            if report.errors:
                return IngestResult(errors=report.errors)
            await uow.commit()
        return IngestResult(report.created, report.updated)

    async def products(self, records: Sequence[Any]) -> IngestResult:
        today = to_local(self.clock(), ZoneInfo(self.settings.timezone)).date()
        async with self.db.uow() as uow:
            report = await upsert_product_records(
                uow.session, records, today=today, limits=self.limits
            )
            if report.errors:
                return IngestResult(errors=report.errors)
            await uow.commit()
        return IngestResult(report.created, report.updated)

    async def orders(self, records: Sequence[Any]) -> IngestResult:
        """Orders and inquiries; a delivered order's thank-you is queued at once."""
        async with self.db.uow() as uow:
            session = uow.session
            report, codes = await upsert_order_records(
                session, records, timezone=self.settings.timezone, limits=self.limits
            )
            if report.errors:
                return IngestResult(errors=report.errors)
            states = (
                await session.execute(
                    select(Order.id, Order.kind, Order.status).where(Order.code.in_(codes))
                )
            ).all()
            delivered = [
                id_
                for id_, kind, status in states
                if kind == OrderKind.ORDER and status == OrderStatus.DELIVERED
            ]
            undone = [id_ for id_, _, status in states if status != OrderStatus.DELIVERED]
            thanks = await self.care.thank_now(session, delivered)
            await self._withdraw_thanks(session, undone)
            await uow.commit()
        await self.reclassify(report.customer_ids)
        return IngestResult(report.created, report.updated, thanks_queued=thanks.queued)

    async def _withdraw_thanks(self, session: Any, order_ids: list[int]) -> None:
        """A thank-you still waiting for an order that is no longer delivered (returned,
        cancelled, or corrected) is not sent."""
        if not order_ids:
            return
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.in_([f"thanks:{id_}" for id_ in order_ids]),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SKIPPED, skip_reason=SKIP_ORDER_CHANGED)
        )

    # --- re-classification ----------------------------------------------------------------

    async def reclassify(self, customer_ids: Collection[int]) -> None:
        """Few customers now; many in the background, together with those still waiting."""
        if not customer_ids:
            return
        if len(customer_ids) <= RECLASSIFY_INLINE and self._task is None:
            await self.segmentation.reclassify(customer_ids)
            return
        self._waiting.update(customer_ids)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, set()
                try:
                    await self.segmentation.reclassify(batch)
                except Exception:  # the nightly run puts them right; the API stays up
                    log.exception("re-classifying %d customers failed", len(batch))
        finally:
            self._task = None

    async def settled(self) -> None:
        """Wait for the background re-classification (tests, shutdown)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    # --- reading ----------------------------------------------------------------------------

    async def customer(self, code: str) -> dict[str, Any] | None:
        """A customer by code with tier, segment, LTV, CLV and consent; None if unknown or
        erased (an erased customer has no data left to show)."""
        async with self.db.uow() as uow:
            customer = await uow.session.scalar(
                select(Customer)
                .options(selectinload(Customer.metrics))
                .where(Customer.code == code, Customer.erased_at.is_(None))
            )
            if customer is None:
                return None
            metrics = customer.metrics
            return {
                "code": customer.code,
                "kind": customer.kind,
                "name": customer.name,
                "contact_person": customer.contact_person,
                "phone": customer.phone,
                "email": customer.email,
                "address": customer.address,
                "region": customer.region,
                "birthday": customer.birthday.isoformat() if customer.birthday else None,
                "occupation": customer.occupation,
                "size": customer.size,
                "language": customer.language,
                "consent": {
                    "telegram": customer.consent_telegram,
                    "email": customer.consent_email,
                },
                "tier": metrics.tier if metrics else None,
                "segment": metrics.segment if metrics else None,
                "ltv": metrics.historical_ltv if metrics else 0,
                "clv_12m": metrics.clv_12m if metrics else None,
                "p_alive": metrics.p_alive if metrics else None,
                "orders": metrics.frequency if metrics else 0,
                "classified_on": metrics.as_of.isoformat() if metrics else None,
            }

    async def order(self, code: str) -> dict[str, Any] | None:
        """An order or inquiry by code: its status, times, money, lines and thank-you."""
        async with self.db.uow() as uow:
            order = await uow.session.scalar(
                select(Order)
                .options(selectinload(Order.lines), selectinload(Order.customer))
                .where(Order.code == code)
            )
            if order is None:
                return None
            thanks = await uow.session.scalar(
                select(OutboxMessage.status).where(
                    OutboxMessage.idempotency_key == f"thanks:{order.id}"
                )
            )
            return {
                "code": order.code,
                "customer_code": order.customer.code,
                "kind": order.kind,
                "status": order.status,
                "placed_at": order.placed_at.isoformat(),
                "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
                "amount": order.amount,
                "margin": order.margin,
                "discount": order.discount,
                "payment_terms": order.payment_terms,
                "lines": [
                    {
                        "product": line.product_name,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                        "discount": line.discount,
                        "amount": line.amount,
                    }
                    for line in order.lines
                ],
                "thank_you": thanks,
            }
