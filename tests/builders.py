"""What tests build and read: settings, a settable clock, customers and orders with sensible
defaults, segmentation rows, and readers of the outbox.

Tests import these by name (``from tests.builders import make_customer``); fixtures live in
the conftest of the layer that may use them.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from care.core.models import Customer, CustomerMetrics, Order, OutboxMessage
from care.core.settings import Settings, async_database_url

if TYPE_CHECKING:
    from care.services import Services

TOKEN = "123456:TEST-token"
"""The bot token of the test settings, and the one the sandbox Telegram is made for."""


def make_settings(
    tmp_path: Path, *, database_url: str | None = None, database_schema: str | None = None
) -> Settings:
    """Settings for a test: no .env file, nothing from the developer's environment.

    Without ``database_url`` they name a SQLite file under ``tmp_path`` that nothing opens
    until a test asks for the ``database`` fixture.
    """
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=async_database_url(database_url or f"sqlite:///{tmp_path / 'carebot.db'}"),
        database_schema=database_schema,
        telegram_token=TOKEN,
        staff_chat_id=-1001000,
        outbox_dir=tmp_path / "outbox",
        shop_name="Cửa hàng Mẫu",
        # The programmes' random holdout would make tests of who gets a message a lottery;
        # the tests of the holdout set it themselves.
        programme_holdout={},
    )


def database_env(settings: Settings) -> dict[str, str]:
    """The environment that points a CLI command at the test's database."""
    env = {"CAREBOT_DATABASE_URL": settings.database_url}
    if settings.database_schema:
        env["CAREBOT_DATABASE_SCHEMA"] = settings.database_schema
    return env


class Clock:
    """A settable clock, so tests can stand on Tet, a birthday or quiet hours."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- rows in the database --------------------------------------------------------------------

_codes = itertools.count(1)


def _next(prefix: str) -> str:
    return f"{prefix}{next(_codes):05d}"


async def make_customer(services: Services, **fields: Any) -> Customer:
    """A customer with sensible defaults; pass only what the test is about."""
    n = next(_codes)
    values: dict[str, Any] = {
        "code": f"KH{n:05d}",
        "kind": "individual",
        "name": "Nguyễn Thị Lan",
        "phone": f"+8491{n:07d}",
        "email": f"khach{n}@example.com",
        "region": "Hà Nội",
        "language": "vi",
        "birthday": date(1990, 5, 17),
    }
    values.update(fields)
    async with services.db.uow() as uow:
        customer = Customer(**values)
        uow.session.add(customer)
        await uow.commit()
    return customer


async def make_order(services: Services, customer: Customer, **fields: Any) -> Order:
    """A delivered order of 1.250.000 ₫ placed ten days ago unless told otherwise."""
    now = services.clock()
    values: dict[str, Any] = {
        "code": _next("DH"),
        "customer_id": customer.id,
        "kind": "order",
        "status": "delivered",
        "placed_at": now - timedelta(days=10),
        "delivered_at": now - timedelta(days=8),
        "amount": 1_250_000,
        "margin": 250_000,
    }
    values.update(fields)
    async with services.db.uow() as uow:
        order = Order(**values)
        uow.session.add(order)
        await uow.commit()
    return order


async def add_metrics(services: Services, customer: Customer, **fields: Any) -> None:
    """Give a customer the segmentation the tests need (tier, segment, lifetime value),
    as of today unless ``as_of`` says otherwise."""
    fields.setdefault("as_of", services.clock().date())
    async with services.db.uow() as uow:
        uow.session.add(CustomerMetrics(customer_id=customer.id, **fields))
        await uow.commit()


# --- reading the outbox ----------------------------------------------------------------------


async def outbox_rows(services: Services, prefix: str = "") -> list[OutboxMessage]:
    """The outbox rows whose idempotency key starts with ``prefix``, oldest first."""
    async with services.db.uow() as uow:
        found = list(
            await uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.startswith(prefix))
                .order_by(OutboxMessage.id)
            )
        )
        uow.session.expunge_all()
    return found


async def outbox_row(services: Services, key: str) -> OutboxMessage:
    """The outbox row with this idempotency key (it must exist)."""
    async with services.db.uow() as uow:
        row = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
        uow.session.expunge_all()
    assert row is not None, key
    return row


# --- the HTTP API ------------------------------------------------------------------------------

ALL_SCOPES = "customers:write,orders:write,products:write,webhooks:write,read"


class ApiClient:
    """A shop's system calling /api/v1: an HTTP client and the keys it was given."""

    def __init__(self, client: Any, services: Services) -> None:
        self.client = client
        self.services = services

    async def key(self, scopes: str = ALL_SCOPES, name: str | None = None) -> str:
        """A new API key with these scopes (as `carebot api-key create` makes it)."""
        made = await self.services.api_keys.create(name or _next("sys"), scopes)
        return made.key

    async def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        return await self.client.request(
            method, f"/api/v1{path}", json=json, headers=sent, **kwargs
        )


def with_services(settings: Settings, body: Any, *, clock: Any = None) -> Any:
    """Run ``await body(services)`` on fresh services of the test's database, in a loop of
    its own: for the tests of CLI commands, which are not async and run their own loops."""
    import asyncio

    from care.services import open_services

    async def run() -> Any:
        kwargs = {"clock": clock} if clock is not None else {}
        async with open_services(settings, warm=False, **kwargs) as services:
            return await body(services)

    return asyncio.run(run())
