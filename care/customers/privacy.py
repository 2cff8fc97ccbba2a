"""The customer's rights over their data: a copy of everything held (export) and erasure
(care.customers.erasure does the erasing; orders stay, anonymous, for the statistics).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from care.core.db import Database, UnitOfWork
from care.core.models import (
    Complaint,
    Customer,
    Interaction,
    Order,
    PolicyGrant,
    Survey,
)
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.customers.erasure import Erased, erase, remove_files
from care.customers.profile import customer_by_code, linked_customer
from care.outreach import Outbox


class Privacy:
    """The privacy part of ``CustomerService``."""

    db: Database
    settings: Settings
    renderer: Renderer
    outbox: Outbox
    clock: Callable[[], datetime]

    # --- privacy -----------------------------------------------------------------------

    async def export(self, telegram_user_id: int) -> dict[str, Any] | None:
        """Everything held about the linked customer, JSON-ready (dates as ISO strings)."""
        async with self.db.uow() as uow:
            session = uow.session
            customer = await linked_customer(session, telegram_user_id)
            if customer is None:
                return None
            return await _export(session, customer, telegram_user_id)

    async def forget(self, telegram_user_id: int) -> Erased | None:
        """Erase the linked customer's personal data (care.customers.erasure); None if
        nothing is linked.

        The record stays, anonymised, with its orders and their totals: the books and the
        statistics keep their figures without knowing whose they were.
        """
        async with self.db.uow() as uow:
            customer = await linked_customer(uow.session, telegram_user_id)
            if customer is None:
                return None
            return await self._erase(uow, customer)

    async def forget_by_code(self, code: str) -> Erased | None:
        """Erase a customer who asked outside Telegram (by letter, at the counter); None
        if no customer has this code or they were erased already."""
        async with self.db.uow() as uow:
            customer = await customer_by_code(uow.session, code)
            if customer is None or customer.erased_at is not None:
                return None
            return await self._erase(uow, customer)

    async def _erase(self, uow: UnitOfWork, customer: Customer) -> Erased:
        erased = await erase(
            uow.session,
            customer,
            now=self.clock(),
            settings=self.settings,
            renderer=self.renderer,
            outbox=self.outbox,
        )
        await uow.commit()
        remove_files(erased.files)
        await self.db.release_old_pages()
        return erased


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = _iso(value) if isinstance(value, date | datetime) else value
    return out


async def _export(
    session: AsyncSession, customer: Customer, telegram_user_id: int
) -> dict[str, Any]:
    profile = _row(
        customer,
        "code",
        "kind",
        "name",
        "contact_person",
        "phone",
        "email",
        "address",
        "region",
        "birthday",
        "occupation",
        "size",
        "purchase_habits",
        "language",
        "telegram_user_id",
        "source",
        "created_at",
        "updated_at",
    )
    orders = (
        await session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id)
            .options(selectinload(Order.lines))
            .order_by(Order.placed_at)
        )
    ).all()
    order_rows = []
    for order in orders:
        row = _row(
            order,
            "code",
            "kind",
            "status",
            "placed_at",
            "delivered_at",
            "delivery_date",
            "amount",
            "discount",
            "payment_terms",
            "notes",
        )
        row["lines"] = [
            _row(line, "product_name", "quantity", "unit_price", "discount", "amount")
            for line in order.lines
        ]
        order_rows.append(row)
    interactions = (
        await session.scalars(
            select(Interaction)
            .where(
                or_(
                    Interaction.customer_id == customer.id,
                    Interaction.telegram_user_id == telegram_user_id,
                ),
                # Staff-chat copies about them and what they did as staff are not their data.
                Interaction.internal.is_(False),
            )
            .order_by(Interaction.created_at, Interaction.id)
        )
    ).all()
    complaints = (
        await session.scalars(
            select(Complaint)
            .where(Complaint.customer_id == customer.id)
            .options(selectinload(Complaint.messages), selectinload(Complaint.order))
            .order_by(Complaint.id)
        )
    ).all()
    complaint_rows = []
    for complaint in complaints:
        row = _row(
            complaint,
            "code",
            "category",
            "severity",
            "status",
            "description",
            "created_at",
            "resolved_at",
            "resolution",
        )
        row["order"] = complaint.order.code if complaint.order else None
        row["messages"] = [
            _row(message, "author", "text", "created_at") for message in complaint.messages
        ]
        complaint_rows.append(row)
    surveys = (
        await session.scalars(
            select(Survey).where(Survey.customer_id == customer.id).order_by(Survey.id)
        )
    ).all()
    policies = (
        await session.scalars(
            select(PolicyGrant)
            .where(PolicyGrant.customer_id == customer.id)
            .order_by(PolicyGrant.granted_at)
        )
    ).all()
    return {
        "profile": profile,
        "consents": {
            "telegram_promotions": customer.consent_telegram,
            "email_promotions": customer.consent_email,
        },
        "orders": order_rows,
        "interactions": [
            _row(item, "created_at", "channel", "direction", "kind", "text")
            for item in interactions
        ],
        "complaints": complaint_rows,
        "surveys": [
            _row(
                survey,
                "trigger",
                "status",
                "csat",
                "reliability",
                "assurance",
                "tangibles",
                "empathy",
                "responsiveness",
                "nps",
                "comment",
                "created_at",
                "answered_at",
            )
            for survey in surveys
        ],
        "policies": [_row(grant, "policy", "note", "value", "granted_at") for grant in policies],
    }
