"""The product catalogue: what the shop sells, what is new and what it puts forward.

Products are created and updated by import (``carebot import products``) or by the API;
this service reads them for the API and the console, and lets staff feature a product or
take it off sale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from care.core.db import Database
from care.core.models import Product


@dataclass(frozen=True)
class ProductView:
    code: str
    name: str
    category: str | None
    price: int
    active: bool
    featured: bool
    added_on: date | None

    @classmethod
    def of(cls, product: Product) -> ProductView:
        return cls(
            code=product.code,
            name=product.name,
            category=product.category,
            price=product.price,
            active=product.active,
            featured=product.featured,
            added_on=product.added_on,
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["added_on"] = self.added_on.isoformat() if self.added_on else None
        return data


class Catalogue:
    """Read the catalogue; feature a product or take it off sale."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def views(
        self, *, active_only: bool = False, category: str | None = None
    ) -> list[ProductView]:
        """Products by category and name (the console's list)."""
        query = select(Product).order_by(Product.category, Product.name, Product.code)
        if active_only:
            query = query.where(Product.active.is_(True))
        if category is not None:
            query = query.where(Product.category == category)
        async with self.db.uow() as uow:
            return [ProductView.of(product) for product in await uow.session.scalars(query)]

    async def view(self, code: str) -> ProductView | None:
        async with self.db.uow() as uow:
            product = await uow.session.scalar(select(Product).where(Product.code == code))
            return None if product is None else ProductView.of(product)

    async def listing(self, *, active_only: bool = False) -> list[dict[str, Any]]:
        """The catalogue as the API shows it."""
        return [view.as_json() for view in await self.views(active_only=active_only)]

    async def get(self, code: str) -> dict[str, Any] | None:
        view = await self.view(code)
        return None if view is None else view.as_json()

    async def categories(self) -> list[str]:
        async with self.db.uow() as uow:
            found = await uow.session.scalars(
                select(Product.category)
                .where(Product.category.is_not(None))
                .distinct()
                .order_by(Product.category)
            )
            return [category for category in found if category]

    async def set_flags(
        self, code: str, *, featured: bool | None = None, active: bool | None = None
    ) -> ProductView | None:
        """Feature a product (or not) and put it on or off sale; None for an unknown code."""
        async with self.db.uow() as uow:
            product = await uow.session.scalar(select(Product).where(Product.code == code))
            if product is None:
                return None
            if featured is not None:
                product.featured = featured
            if active is not None:
                product.active = active
            await uow.session.flush()
            view = ProductView.of(product)
            await uow.commit()
        return view
