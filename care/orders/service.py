"""A customer's own orders: the recent ones, and one in detail.

Every lookup is scoped to the asking customer in the query itself, so an order that
belongs to someone else is simply not found: "not yours" and "does not exist" cannot be
told apart, not even by timing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from care.core.db import Database, UnitOfWork
from care.core.models import Order, OrderKind
from care.core.text import clean

RECENT_ORDERS = 10
_SEPARATORS = re.compile(r"[\s\-_/.]")


@dataclass(frozen=True)
class OrderLineView:
    product_name: str
    quantity: int
    unit_price: int
    discount: int
    amount: int


@dataclass(frozen=True)
class OrderSummary:
    code: str
    kind: str
    status: str
    placed_at: datetime
    amount: int


@dataclass(frozen=True)
class OrderDetail:
    code: str
    kind: str
    status: str
    placed_at: datetime
    delivery_date: date | None
    delivered_at: datetime | None
    amount: int
    discount: int
    payment_terms: str | None
    lines: tuple[OrderLineView, ...]


def code_key(code: str) -> str:
    """An order code as customers type it: any case, with or without the dash."""
    return _SEPARATORS.sub("", clean(code)).upper()


class OrderService:
    """What a customer may see of their own orders and inquiries."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Built once, columns only: asked for every /orders.
        self._recent = (
            select(Order.code, Order.kind, Order.status, Order.placed_at, Order.amount)
            .where(Order.customer_id == bindparam("customer_id"), Order.kind == OrderKind.ORDER)
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(bindparam("limit"))
        )

    async def recent(
        self, customer_id: int, limit: int = RECENT_ORDERS, *, uow: UnitOfWork | None = None
    ) -> list[OrderSummary]:
        """The customer's latest orders (inquiries left out), newest first."""
        async with self.db.uow(within=uow) as work:
            rows = await work.session.execute(
                self._recent, {"customer_id": customer_id, "limit": limit}
            )
            return [OrderSummary(*row) for row in rows]

    async def by_code(
        self, customer_id: int, code: str, *, uow: UnitOfWork | None = None
    ) -> OrderDetail | None:
        """One order or inquiry of this customer by its code; None if not theirs or unknown."""
        key = code_key(code)
        if not key:
            return None
        stored = func.upper(Order.code)
        for separator in ("-", "_", "/", ".", " "):
            stored = func.replace(stored, separator, "")
        async with self.db.uow(within=uow) as work:
            order = await work.session.scalar(
                select(Order)
                .where(Order.customer_id == customer_id, stored == key)
                .options(selectinload(Order.lines))
                .order_by(Order.id)
                .limit(1)
            )
            if order is None:
                return None
            return OrderDetail(
                code=order.code,
                kind=order.kind,
                status=order.status,
                placed_at=order.placed_at,
                delivery_date=order.delivery_date,
                delivered_at=order.delivered_at,
                amount=order.amount,
                discount=order.discount,
                payment_terms=order.payment_terms,
                lines=tuple(
                    OrderLineView(
                        line.product_name,
                        line.quantity,
                        line.unit_price,
                        line.discount,
                        line.amount,
                    )
                    for line in order.lines
                ),
            )
