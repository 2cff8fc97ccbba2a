"""Customers, orders and products pushed by the shop's own systems (the HTTP API).

The API's items go through the checks and the writing of a file import
(``care.io.upsert_*_records``): same fields, same normalisation, same messages; all
items of a request or none. What an import of orders sets off follows at once: an order
recorded as delivered queues its thank-you in the same transaction (due a set time after
``delivered_at``, under the scan's own key, so it is sent once however often the order is
pushed), and the customers concerned are re-classified (tier, segment, lifetime value).
A few customers are re-classified before the answer; a batch's many are left to one
background task that takes them together once the pushes pause, so a sales system
pushing a thousand orders does not wait on a thousand re-scorings, nor its next batch on
a full re-computation.
"""

from __future__ import annotations

import asyncio
import contextlib
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

# Up to this many customers are re-classified before a request is answered; more wait
# for a pause of this many seconds in the pushes, then go together.
RECLASSIFY_INLINE = 20
RECLASSIFY_QUIET_SECONDS = 1.0
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


async def _ids(session: Any, codes: list[str]) -> list[int]:
    if not codes:
        return []
    return list(await session.scalars(select(Order.id).where(Order.code.in_(codes))))


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
        self._pushes = 0
        self._task: asyncio.Task[None] | None = None
        self.quiet_seconds = RECLASSIFY_QUIET_SECONDS

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
            report, written = await upsert_order_records(
                session, records, timezone=self.settings.timezone, limits=self.limits
            )
            if report.errors:
                return IngestResult(errors=report.errors)
            delivered = [
                o.code
                for o in written
                if o.kind == OrderKind.ORDER and o.status == OrderStatus.DELIVERED
            ]
            # Only an order that existed can have a thank-you waiting.
            undone = [o.code for o in written if o.existed and o.status != OrderStatus.DELIVERED]
            thanks = await self.care.thank_now(session, await _ids(session, delivered))
            await self._withdraw_thanks(session, await _ids(session, undone))
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
        self._pushes += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._waiting:
                # Pushes come in runs (a day's orders, batch after batch): wait for a
                # quiet moment and re-classify them all at once.
                seen = -1
                while seen != self._pushes:
                    seen = self._pushes
                    await asyncio.sleep(self.quiet_seconds)
                batch, self._waiting = self._waiting, set()
                try:
                    await self.segmentation.reclassify(batch)
                except Exception:  # the nightly run puts them right; the API stays up
                    log.exception("re-classifying %d customers failed", len(batch))
        finally:
            self._task = None

    async def close(self) -> None:
        """Stop a background re-classification (the process is stopping: the nightly run
        re-classifies everyone anyway)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._waiting.clear()

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
