"""Purchase habits, derived from the orders and the conversations: the favourite product
categories, the usual basket (order value and items), the preferred channel and hour.

``Habits.refresh`` stores them on the customer record (``purchase_habits``, as JSON) for
every customer who bought, so exports and the console read them without recomputing;
the staff card derives them afresh for the one customer it shows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import median
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    Customer,
    Direction,
    Interaction,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Product,
)
from care.core.settings import Settings
from care.core.text import to_local

T = TypeVar("T")
TOP_CATEGORIES = 3
PAGE = 500
# COUNTED_ORDERS, spelled for the ORM: the orders that count as purchases.
NOT_COUNTED = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass(frozen=True)
class PurchaseHabits:
    orders: int
    categories: list[str]  # most bought first
    basket: int  # the median order, VND
    items: float  # the median number of items in an order
    channel: str | None  # where they write to the shop most
    hour: int | None  # the local hour they order at most

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> PurchaseHabits | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError):
            return None  # a note typed by hand before habits were derived


class Habits:
    """Derives purchase habits and stores them on the customer records."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    async def of(self, customer_id: int) -> PurchaseHabits | None:
        async with self.db.uow() as uow:
            return (await derive(uow.session, [customer_id], self.zone)).get(customer_id)

    async def refresh(self, customer_ids: Sequence[int] | None = None) -> int:
        """Store the habits of these customers (every buyer when None); returns how many."""
        written = 0
        async with self.db.uow() as uow:
            s = uow.session
            if customer_ids is None:
                ids = list(
                    await s.scalars(
                        select(Order.customer_id)
                        .join(Customer, Customer.id == Order.customer_id)
                        .where(Order.kind == OrderKind.ORDER, Customer.erased_at.is_(None))
                        .group_by(Order.customer_id)
                        .order_by(Order.customer_id)
                    )
                )
            else:
                ids = list(customer_ids)
            for start in range(0, len(ids), PAGE):
                found = await derive(s, ids[start : start + PAGE], self.zone)
                for customer_id, habits in found.items():
                    await s.execute(
                        update(Customer)
                        .where(Customer.id == customer_id, Customer.erased_at.is_(None))
                        .values(purchase_habits=habits.to_json())
                    )
                    written += 1
            await uow.commit()
        return written


async def derive(
    session: AsyncSession, customer_ids: Sequence[int], zone: ZoneInfo
) -> dict[int, PurchaseHabits]:
    """The habits of the customers who bought among ``customer_ids``."""
    if not customer_ids:
        return {}
    counted = (
        Order.customer_id.in_(list(customer_ids)),
        Order.kind == OrderKind.ORDER,
        Order.status.not_in(NOT_COUNTED),
    )
    orders = (
        await session.execute(
            select(Order.id, Order.customer_id, Order.placed_at, Order.amount).where(*counted)
        )
    ).all()
    if not orders:
        return {}
    lines = (
        await session.execute(
            select(
                Order.customer_id,
                Order.id,
                OrderLine.quantity,
                func.coalesce(Product.category, OrderLine.product_name),
            )
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .where(*counted)
        )
    ).all()
    channels = (
        await session.execute(
            select(Interaction.customer_id, Interaction.channel, func.count())
            .where(
                Interaction.customer_id.in_(list(customer_ids)),
                Interaction.direction == Direction.INBOUND,
                Interaction.internal.is_(False),
            )
            .group_by(Interaction.customer_id, Interaction.channel)
        )
    ).all()
    amounts: dict[int, list[int]] = defaultdict(list)
    order_ids: dict[int, list[int]] = defaultdict(list)
    hours: dict[int, Counter[int]] = defaultdict(Counter)
    for order_id, customer_id, placed_at, amount in orders:
        amounts[customer_id].append(amount)
        order_ids[customer_id].append(order_id)
        hours[customer_id][to_local(placed_at, zone).hour] += 1
    items: dict[int, Counter[int]] = defaultdict(Counter)
    categories: dict[int, Counter[str]] = defaultdict(Counter)
    for customer_id, order_id, quantity, category in lines:
        items[customer_id][order_id] += quantity
        if category:
            categories[customer_id][category] += quantity
    channel_of: dict[int, Counter[str]] = defaultdict(Counter)
    for writer, channel, count in channels:
        if writer is not None:
            channel_of[writer][channel] += count
    result = {}
    for customer_id, values in amounts.items():
        per_order = [items[customer_id].get(order_id, 0) for order_id in order_ids[customer_id]]
        result[customer_id] = PurchaseHabits(
            orders=len(values),
            categories=[c for c, _ in categories[customer_id].most_common(TOP_CATEGORIES)],
            basket=int(median(values)),
            items=float(median(per_order)) if any(per_order) else 0.0,
            channel=_top(channel_of[customer_id]),
            hour=_top(hours[customer_id]),
        )
    return result


def _top(counter: Counter[T]) -> T | None:
    if not counter:
        return None
    return counter.most_common(1)[0][0]
