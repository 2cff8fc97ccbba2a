"""What a campaign or an automatic programme brought: contacted against held out.

Every campaign holds out a random share of its audience (``campaign create --holdout``,
10 % by default); the automatic programmes (win-back, birthday) hold out a share of the
customers they pick (``programme_holdout``). Both groups are recorded
(``CareAssignment``). After the measurement window, the orders, revenue and margin per
customer of the two groups are compared: the difference is what contacting brought, and
its 95 % confidence interval says how sure that is (Welch's t-test for money, the normal
approximation for the share who bought). Voucher redemptions are counted beside.

Each customer's window starts when they were assigned (a campaign's start, the day a
programme picked them) and lasts ``measure_days``; orders are those that count as
purchases (not inquiries, cancelled or returned ones).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy import stats
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    Campaign,
    CareAssignment,
    Order,
    OrderKind,
    OrderStatus,
    Voucher,
)
from care.core.settings import Settings

CONFIDENCE = 0.95
NOT_COUNTED = (OrderStatus.CANCELLED, OrderStatus.RETURNED)
PROGRAMMES = ("win_back", "birthday")


class EffectProblem(ValueError):
    """No such campaign, or nothing to measure yet; the message is fit to show."""


@dataclass(frozen=True)
class GroupFigures:
    customers: int
    buyers: int
    orders: int
    revenue: int
    margin: int
    vouchers_redeemed: int

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.customers if self.customers else 0.0

    @property
    def margin_per_customer(self) -> float:
        return self.margin / self.customers if self.customers else 0.0

    @property
    def orders_per_customer(self) -> float:
        return self.orders / self.customers if self.customers else 0.0

    @property
    def conversion(self) -> float:
        return self.buyers / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class Uplift:
    """Contacted minus held out, per customer, with its confidence interval."""

    difference: float
    low: float
    high: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class EffectReport:
    name: str
    programme: str
    first: datetime  # the earliest window start
    last: datetime  # the latest window end
    complete: bool  # every window is over
    measure_days: int
    contacted: GroupFigures
    held_out: GroupFigures
    revenue: Uplift | None
    margin: Uplift | None
    orders: Uplift | None
    conversion: Uplift | None
    vouchers_issued: int
    vouchers_redeemed: int
    voucher_revenue: int

    @property
    def incremental_revenue(self) -> float | None:
        """The revenue the contacted group would not have had without the contact."""
        if self.revenue is None:
            return None
        return self.revenue.difference * self.contacted.customers


def welch(contacted: Sequence[float], held_out: Sequence[float]) -> Uplift | None:
    """The difference of the means and its Welch confidence interval; None when a group has
    fewer than two customers."""
    if len(contacted) < 2 or len(held_out) < 2:
        return None
    a = np.asarray(contacted, dtype=float)
    b = np.asarray(held_out, dtype=float)
    difference = float(a.mean() - b.mean())
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        return Uplift(difference, difference, difference, 0.0 if difference else 1.0)
    result = stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return Uplift(difference, float(interval.low), float(interval.high), float(result.pvalue))


def proportions(buyers_a: int, n_a: int, buyers_b: int, n_b: int) -> Uplift | None:
    """The difference of two shares with its normal-approximation interval."""
    if n_a < 2 or n_b < 2:
        return None
    p_a, p_b = buyers_a / n_a, buyers_b / n_b
    difference = p_a - p_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    if se == 0:
        return Uplift(difference, difference, difference, 0.0 if difference else 1.0)
    z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
    p_value = float(2 * stats.norm.sf(abs(difference) / se))
    return Uplift(difference, difference - z * se, difference + z * se, p_value)


class CampaignEffects:
    """Measures campaigns and programmes against their held-out customers."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def campaign(self, name: str) -> EffectReport:
        async with self.db.uow() as uow:
            campaign = await uow.session.scalar(select(Campaign).where(Campaign.name == name))
            if campaign is None:
                raise EffectProblem(f"no campaign named {name!r}")
            days = int((campaign.audience or {}).get("measure_days", 30))
            assigned = (
                await uow.session.execute(
                    select(
                        CareAssignment.customer_id,
                        CareAssignment.assigned_at,
                        CareAssignment.held_out,
                    ).where(CareAssignment.campaign_id == campaign.id)
                )
            ).all()
            if not assigned:
                raise EffectProblem(f"campaign {name!r} has not started: nothing to measure")
            vouchers = (
                await uow.session.execute(
                    select(Voucher.customer_id, Voucher.order_id).where(
                        Voucher.campaign_id == campaign.id
                    )
                )
            ).all()
            return await self._report(
                uow.session,
                name,
                "campaign",
                [(r[0], r[1], r[2]) for r in assigned],
                days,
                vouchers,
            )

    async def programme(
        self, programme: str, *, days: int = 90, measure_days: int | None = None
    ) -> EffectReport:
        """An automatic programme over the customers it picked in the last ``days``."""
        if programme not in PROGRAMMES:
            raise EffectProblem(f"unknown programme {programme!r}; use {', '.join(PROGRAMMES)}")
        measure = measure_days or self.settings.programme_measure_days
        since = self.clock() - timedelta(days=days)
        async with self.db.uow() as uow:
            assigned = (
                await uow.session.execute(
                    select(
                        CareAssignment.customer_id,
                        CareAssignment.assigned_at,
                        CareAssignment.held_out,
                    ).where(
                        CareAssignment.programme == programme,
                        CareAssignment.assigned_at >= since,
                    )
                )
            ).all()
            if not assigned:
                raise EffectProblem(f"{programme} picked nobody in the last {days} days")
            return await self._report(
                uow.session,
                programme,
                programme,
                [(r[0], r[1], r[2]) for r in assigned],
                measure,
                [],
            )

    async def _report(
        self,
        session: AsyncSession,
        name: str,
        programme: str,
        assigned: list[tuple[int, datetime, bool]],
        days: int,
        vouchers: Sequence[tuple[int | None, int | None]],
    ) -> EffectReport:
        now = self.clock()
        window = timedelta(days=days)
        first = min(at for _, at, _ in assigned)
        last = max(at for _, at, _ in assigned) + window
        starts: dict[int, tuple[datetime, bool]] = {cid: (at, held) for cid, at, held in assigned}
        ids = list(starts)
        per_customer: dict[int, list[tuple[int, int]]] = defaultdict(list)
        redeeming = {order_id for _, order_id in vouchers if order_id is not None}
        redeemed_by: dict[int, int] = defaultdict(int)
        for chunk in range(0, len(ids), 500):
            rows = (
                await session.execute(
                    select(
                        Order.id, Order.customer_id, Order.placed_at, Order.amount, Order.margin
                    ).where(
                        Order.customer_id.in_(ids[chunk : chunk + 500]),
                        Order.kind == OrderKind.ORDER,
                        Order.status.not_in(NOT_COUNTED),
                        Order.placed_at >= first,
                        Order.placed_at < last,
                    )
                )
            ).all()
            for order_id, customer_id, placed_at, amount, margin in rows:
                start, _ = starts[customer_id]
                if start <= placed_at < start + window:
                    per_customer[customer_id].append((amount, margin))
                    if order_id in redeeming:
                        redeemed_by[customer_id] += 1

        groups: dict[bool, dict[str, list[float]]] = {
            False: defaultdict(list),
            True: defaultdict(list),
        }
        for customer_id, (_, held) in starts.items():
            orders = per_customer.get(customer_id, [])
            g = groups[held]
            g["revenue"].append(sum(a for a, _ in orders))
            g["margin"].append(sum(m for _, m in orders))
            g["orders"].append(len(orders))
            g["vouchers"].append(redeemed_by.get(customer_id, 0))

        def figures(g: dict[str, list[float]]) -> GroupFigures:
            return GroupFigures(
                customers=len(g["revenue"]),
                buyers=sum(1 for n in g["orders"] if n),
                orders=int(sum(g["orders"])),
                revenue=int(sum(g["revenue"])),
                margin=int(sum(g["margin"])),
                vouchers_redeemed=int(sum(g["vouchers"])),
            )

        contacted, held_out = figures(groups[False]), figures(groups[True])
        voucher_revenue = 0
        if redeeming:
            voucher_revenue = int(
                sum(
                    amount
                    for amount in await session.scalars(
                        select(Order.amount).where(
                            Order.id.in_(redeeming), Order.status.not_in(NOT_COUNTED)
                        )
                    )
                )
            )
        return EffectReport(
            name=name,
            programme=programme,
            first=first,
            last=last,
            complete=now >= last,
            measure_days=days,
            contacted=contacted,
            held_out=held_out,
            revenue=welch(groups[False]["revenue"], groups[True]["revenue"]),
            margin=welch(groups[False]["margin"], groups[True]["margin"]),
            orders=welch(groups[False]["orders"], groups[True]["orders"]),
            conversion=proportions(
                contacted.buyers, contacted.customers, held_out.buyers, held_out.customers
            ),
            vouchers_issued=len(vouchers),
            vouchers_redeemed=len(redeeming),
            voucher_revenue=voucher_revenue,
        )
