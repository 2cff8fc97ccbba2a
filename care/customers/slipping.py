"""Top customers slipping: an alert to the staff chat, and a call for their account manager.

A gold or diamond customer (``slipping_tiers``) who moves into the at-risk or can't-lose
segment, or whose predicted 12-month CLV falls by ``slipping_clv_drop`` (30 %) since the
watch last looked, is worth a person's time, not one more generic message: the staff chat
gets their card (value, last order, the drop, suggested policies) and a call is planned
for their account manager the next working morning, who is reminded on Telegram.

The scan runs after the nightly segmentation and during the day; each alert has its key
(the classification change, or the CLV seen), so it is raised once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    ClassificationChange,
    ClvWatch,
    Customer,
    CustomerMetrics,
    Order,
    OrderKind,
    OutboxMessage,
    Staff,
)
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import to_local
from care.customers.contacts import Contacts
from care.customers.policies import Policies
from care.outreach import Outbox

LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class SlippingAlert:
    customer_id: int
    customer_code: str
    reason: str  # "segment" or "clv"
    contact_id: int | None


class SlippingWatch:
    """Finds top-tier customers who slip and raises one alert each."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        outbox: Outbox,
        contacts: Contacts,
        policies: Policies,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.outbox = outbox
        self.contacts = contacts
        self.policies = policies
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    async def scan(self) -> list[SlippingAlert]:
        now = self.clock()
        tiers = self.settings.slipping_tiers
        alerts: list[SlippingAlert] = []
        async with self.db.uow() as uow:
            s = uow.session
            changes = (
                await s.execute(
                    select(ClassificationChange, Customer, CustomerMetrics)
                    .join(Customer, Customer.id == ClassificationChange.customer_id)
                    .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                    .where(
                        ClassificationChange.field == "segment",
                        ClassificationChange.new_value.in_(self.settings.slipping_segments),
                        ClassificationChange.changed_at >= now - timedelta(days=LOOKBACK_DAYS),
                        CustomerMetrics.segment.in_(self.settings.slipping_segments),
                        CustomerMetrics.tier.in_(tiers),
                        Customer.erased_at.is_(None),
                    )
                    .order_by(ClassificationChange.id)
                )
            ).all()
            for change, customer, metrics in changes:
                alert = await self._alert(
                    s,
                    customer,
                    metrics,
                    key=f"slipping:{change.id}",
                    reason="segment",
                    now=now,
                    old_segment=change.old_value,
                )
                if alert is not None:
                    alerts.append(alert)
            alerts += await self._clv_falls(s, now)
            await uow.commit()
        return alerts

    async def _clv_falls(self, s: AsyncSession, now: datetime) -> list[SlippingAlert]:
        rows = (
            await s.execute(
                select(Customer, CustomerMetrics, ClvWatch)
                .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                .outerjoin(ClvWatch, ClvWatch.customer_id == Customer.id)
                .where(
                    CustomerMetrics.tier.in_(self.settings.slipping_tiers),
                    CustomerMetrics.clv_12m.is_not(None),
                    Customer.erased_at.is_(None),
                )
            )
        ).all()
        alerts = []
        for customer, metrics, watch in rows:
            clv = metrics.clv_12m
            assert clv is not None
            if watch is None:
                s.add(ClvWatch(customer_id=customer.id, clv_12m=clv, seen_at=now))
                continue
            before = watch.clv_12m
            if before > 0 and clv <= before * (1 - self.settings.slipping_clv_drop):
                alert = await self._alert(
                    s,
                    customer,
                    metrics,
                    key=f"slipping-clv:{customer.id}:{metrics.as_of.isoformat()}",
                    reason="clv",
                    now=now,
                    clv_before=before,
                )
                if alert is not None:
                    alerts.append(alert)
            watch.clv_12m, watch.seen_at = clv, now
        return alerts

    async def _alert(
        self,
        s: AsyncSession,
        customer: Customer,
        metrics: CustomerMetrics,
        *,
        key: str,
        reason: str,
        now: datetime,
        old_segment: str | None = None,
        clv_before: int | None = None,
    ) -> SlippingAlert | None:
        spent = await s.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        if spent is not None:
            return None  # raised before
        language = self.settings.default_language
        last_order = await s.scalar(
            select(func.max(Order.placed_at)).where(
                Order.customer_id == customer.id, Order.kind == OrderKind.ORDER
            )
        )
        due = self._next_morning(now)
        contact = await self.contacts.book_in(
            s,
            customer.id,
            due_at=due,
            reason="slipping",
            note=self.renderer.label(language, f"slipping.reason.{reason}"),
            now=now,
        )
        manager = None
        if contact is not None and contact.staff_id is not None:
            manager = await s.scalar(select(Staff.name).where(Staff.id == contact.staff_id))
        body = self.renderer.chat(
            language,
            "staff_slipping",
            customer=customer,
            m=metrics,
            reason=reason,
            tier=self.renderer.label_or(
                language, f"segmentation.tier.{metrics.tier}", metrics.tier or ""
            ),
            segment=self.renderer.label_or(
                language, f"segmentation.segment.{metrics.segment}", metrics.segment or ""
            ),
            old_segment=self.renderer.label_or(
                language, f"segmentation.segment.{old_segment}", old_segment or ""
            )
            if old_segment
            else None,
            clv_before=clv_before,
            last_order=last_order,
            suggested=self.policies.suggest(metrics.tier, metrics.segment, language),
            contact_due=contact.due_at if contact is not None else None,
            manager=manager,
        )
        sent = await self.outbox.to_staff(s, key=key, body=body, now=now)
        if not sent and contact is None:
            return None  # no staff chat, and the call is planned already
        return SlippingAlert(
            customer.id, customer.code, reason, contact.id if contact is not None else None
        )

    def _next_morning(self, now: datetime) -> datetime:
        """The first contact hour of the next working day."""
        day: date = to_local(now, self.zone).date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        hour = (self.settings.contact_hours or [9])[0]
        return datetime.combine(day, time(hour), tzinfo=self.zone)
