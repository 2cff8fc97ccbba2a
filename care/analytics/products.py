"""What sells, to whom, and what was asked for but never bought, by product.

* Units, revenue and margin by product and month (the shop's months): an order's margin
  is shared among its lines in proportion to their amounts, since a shop records margin
  per order, not per line.
* The top products of each tier over a period.
* Unmet demand by product: inquiries that never became orders (open, quoted, lost),
  grouped by the product they asked about.
* Customers with the same need: how many asked for or bought a product of a category
  (a campaign's ``product_categories`` audience).

Lines name a product of the catalogue or only a name (a product the catalogue does not
know); both are counted, the latter under its name without a code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.sql.elements import ColumnElement

from care.core.db import Database
from care.core.models import (
    Customer,
    CustomerMetrics,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Product,
)
from care.core.settings import Settings
from care.core.text import to_local

UNMET_STATUSES = (OrderStatus.OPEN, OrderStatus.QUOTED, OrderStatus.LOST)
_COUNTED = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass(frozen=True)
class ProductMonth:
    month: str  # YYYY-MM in the shop's time zone
    code: str | None  # None: a name the catalogue does not know
    name: str
    category: str | None
    units: int
    revenue: int
    margin: int


@dataclass(frozen=True)
class TopProduct:
    code: str | None
    name: str
    units: int
    revenue: int
    customers: int


@dataclass(frozen=True)
class UnmetProduct:
    code: str | None
    name: str
    category: str | None
    inquiries: int
    customers: int
    value: int  # what was asked for, in đồng (the inquiries' line amounts)
    last_asked: datetime


class ProductReports:
    """The product report, unmet demand by product, and same-need audiences."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    def _month(self) -> ColumnElement[str]:
        """An order's month in the shop's time zone, in SQL."""
        if self.db.dialect == "postgresql":
            return func.to_char(func.timezone(self.settings.timezone, Order.placed_at), "YYYY-MM")
        offset = self.clock().astimezone(self.zone).utcoffset() or timedelta()
        hours = offset.total_seconds() / 3600
        return func.strftime("%Y-%m", Order.placed_at, f"{hours:+g} hours")

    @staticmethod
    def _line_margin() -> ColumnElement[Any]:
        return case(
            (Order.amount > 0, OrderLine.amount * Order.margin / Order.amount),
            else_=0,
        )

    async def by_month(self, *, months: int = 12) -> list[ProductMonth]:
        """Units, revenue and margin of each product in each of the last ``months`` months
        (this one included), newest month first, best-selling first within it."""
        today = to_local(self.clock(), self.zone).date()
        first = date(today.year, today.month, 1)
        for _ in range(months - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        start = datetime.combine(first, datetime.min.time(), self.zone)
        month = self._month().label("month")
        name = func.coalesce(Product.name, OrderLine.product_name)
        query = (
            select(
                month,
                Product.code,
                name,
                Product.category,
                func.sum(OrderLine.quantity),
                func.sum(OrderLine.amount),
                func.sum(self._line_margin()),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(
                Order.kind == OrderKind.ORDER,
                Order.status.not_in(_COUNTED),
                Order.placed_at >= start,
            )
            .group_by(month, Product.code, name, Product.category)
        )
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
        report = [
            ProductMonth(m, code, n, category, int(units or 0), int(rev or 0), int(mar or 0))
            for m, code, n, category, units, rev, mar in rows
        ]
        report.sort(key=lambda r: (-r.revenue, r.name))
        report.sort(key=lambda r: r.month, reverse=True)  # stable: best-selling first within
        return report

    async def top_by_tier(self, *, limit: int = 5, days: int = 365) -> dict[str, list[TopProduct]]:
        """Each tier's best-selling products (by revenue) over the last ``days`` days;
        customers not yet classified are under ``"-"``."""
        since = self.clock() - timedelta(days=days)
        name = func.coalesce(Product.name, OrderLine.product_name)
        tier = func.coalesce(CustomerMetrics.tier, "-")
        query = (
            select(
                tier,
                Product.code,
                name,
                func.sum(OrderLine.quantity),
                func.sum(OrderLine.amount),
                func.count(func.distinct(Order.customer_id)),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .outerjoin(CustomerMetrics, CustomerMetrics.customer_id == Order.customer_id)
            .where(
                Order.kind == OrderKind.ORDER,
                Order.status.not_in(_COUNTED),
                Order.placed_at >= since,
            )
            .group_by(tier, Product.code, name)
        )
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
        tops: dict[str, list[TopProduct]] = {}
        for tier_name, code, n, units, revenue, customers in rows:
            tops.setdefault(tier_name, []).append(
                TopProduct(code, n, int(units or 0), int(revenue or 0), int(customers))
            )
        order = {name: i for i, name in enumerate(self.settings.tier_names)}
        return {
            tier_name: sorted(items, key=lambda t: (-t.revenue, t.name))[:limit]
            for tier_name, items in sorted(
                tops.items(), key=lambda item: (order.get(item[0], len(order)), item[0])
            )
        }

    async def unmet_demand(self, *, days: int | None = None) -> list[UnmetProduct]:
        """Inquiries that never became orders, by the product asked about, most asked first
        (an inquiry naming no product is under the name "")."""
        name = func.coalesce(Product.name, OrderLine.product_name, "")
        query = (
            select(
                Product.code,
                name,
                Product.category,
                func.count(func.distinct(Order.id)),
                func.count(func.distinct(Order.customer_id)),
                func.coalesce(func.sum(OrderLine.amount), 0),
                func.max(Order.placed_at),
            )
            .select_from(Order)
            .join(Customer, Customer.id == Order.customer_id)
            .outerjoin(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(
                Order.kind == OrderKind.INQUIRY,
                Order.status.in_(UNMET_STATUSES),
                Customer.erased_at.is_(None),
            )
            .group_by(Product.code, name, Product.category)
        )
        if days is not None:
            query = query.where(Order.placed_at >= self.clock() - timedelta(days=days))
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
        found = [
            UnmetProduct(code, n, category, int(inq), int(cust), int(value or 0), last)
            for code, n, category, inq, cust, value, last in rows
        ]
        return sorted(found, key=lambda u: (-u.inquiries, -u.value, u.name))

    async def same_need(self, categories: list[str]) -> int:
        """How many customers (not erased) asked for or bought a product of these
        categories: the size of a campaign's ``product_categories`` audience."""
        query = (
            select(func.count(func.distinct(Order.customer_id)))
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Product.category.in_(categories), Customer.erased_at.is_(None))
        )
        async with self.db.uow() as uow:
            return int(await uow.session.scalar(query) or 0)
