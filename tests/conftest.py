"""Shared fixtures: a fresh database per test, settings, services, and data builders.

Tests run on SQLite by default. With CAREBOT_TEST_DATABASE_URL pointing at PostgreSQL,
every database test runs there instead, each in a schema of its own that is dropped
afterwards; tests marked ``postgres`` run only then.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import build_application, care_programme
from bot.runner import running
from bot.sandbox import Limits, SandboxServer, SentMessage
from bot.sandbox.people import Person
from care.db import Database, create_engine
from care.models import Customer, Order, Staff
from care.services import Services, build_services
from care.settings import Settings, async_database_url

PG_URL = os.environ.get("CAREBOT_TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"database: PostgreSQL at {PG_URL} (a schema per test)"
    return "database: SQLite (set CAREBOT_TEST_DATABASE_URL to run on PostgreSQL too)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="CAREBOT_TEST_DATABASE_URL is not set: no PostgreSQL to use")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def pg_schema() -> AsyncIterator[str | None]:
    """On PostgreSQL, a schema of the test's own, dropped afterwards; None on SQLite."""
    if not PG_URL:
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """An empty database with the schema applied through the migrations."""
    db = Database(settings.database_url, schema=settings.database_schema)
    try:
        await db.upgrade()
        yield db
    finally:
        await db.dispose()


def database_env(settings: Settings) -> dict[str, str]:
    """The environment that points a CLI command at the test's database."""
    env = {"CAREBOT_DATABASE_URL": settings.database_url}
    if settings.database_schema:
        env["CAREBOT_DATABASE_SCHEMA"] = settings.database_schema
    return env


@pytest.fixture
def settings(tmp_path: Path, pg_schema: str | None) -> Settings:
    """Settings for a test: no .env file, nothing from the developer's environment."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=async_database_url(PG_URL or f"sqlite:///{tmp_path / 'carebot.db'}"),
        database_schema=pg_schema,
        telegram_token="123456:TEST-token",
        staff_chat_id=-1001000,
        outbox_dir=tmp_path / "outbox",
        shop_name="Cửa hàng Mẫu",
    )


class Clock:
    """A settable clock, so tests can stand on Tet, a birthday or quiet hours."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 10:00 in Ho Chi Minh City


@pytest.fixture
async def services(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[Services]:
    """The care services on a fresh database, with a settable clock."""
    services = build_services(settings, database=database, clock=clock)
    await services.start()
    yield services


# --- builders ------------------------------------------------------------------------------

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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty directory, as a shop would on a fresh machine."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


# --- end to end: the real Application against the sandbox Bot API server -----------------


class Harness:
    """The bot running against the sandbox, and the people who talk to it."""

    def __init__(
        self,
        sandbox: SandboxServer,
        services: Services,
        settings: Settings,
        *,
        programme: bool = False,
    ) -> None:
        self.sandbox = sandbox
        self.services = services
        self.settings = settings
        self.programme = programme  # the care programme runs beside the bot, as in `carebot run`
        self.staff_chat: int = settings.staff_chat_id  # type: ignore[assignment]
        self._ids = itertools.count(5_000_001)
        self._stack: AsyncExitStack | None = None
        self.application: Any = None

    async def start(self) -> None:
        """Build a fresh Application on the same database and start it polling."""
        hooks = care_programme(self.services) if self.programme else {}
        self.application = build_application(self.settings, self.services, **hooks)
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(
            running(self.application, self.services, poll_timeout=1)
        )

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        """Stop the bot as a deploy or a crash-free restart would, and start a new one."""
        await self.stop()
        await self.start()

    def customer(
        self, first_name: str = "Lan", *, language: str | None = "vi", user_id: int | None = None
    ) -> Person:
        """A Telegram user who has opened a chat with the bot."""
        user = self.sandbox.add_user(user_id or next(self._ids), first_name, language_code=language)
        return Person(self.sandbox, user)

    async def staff_member(
        self, first_name: str = "Minh", *, role: str = "agent", registered: bool = True
    ) -> Person:
        """A member of the staff chat; registered as staff in the database unless told not."""
        person = self.customer(first_name)
        self.sandbox.add_member(self.staff_chat, person.user)
        if registered:
            async with self.services.db.uow() as uow:
                uow.session.add(Staff(telegram_user_id=person.id, name=first_name, role=role))
                await uow.commit()
        return person

    async def next_staff_message(self, *, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        return await self.sandbox.wait_for(self.staff_chat, timeout=timeout)


@pytest.fixture
async def bot(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[Harness]:
    """The real Application, long polling the sandbox over HTTP on 127.0.0.1.

    The sandbox keeps Telegram's flood limits, so a bot that would be throttled in
    production is throttled here too.
    """
    async with _harness(settings, database, clock) as harness:
        yield harness


@pytest.fixture
async def programme_bot(settings: Settings, database: Database) -> AsyncIterator[Harness]:
    """The bot with its care programme (scheduler, outbox dispatcher, unsubscribe page on a
    free port) as `carebot run` runs them, against the sandbox with Telegram's limits.

    On the real clock and without quiet hours, so that a command run in another process
    (which knows no test clock) agrees with the bot on what is due.
    """
    settings = settings.model_copy(
        update={"web_port": 0, "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
    async with _harness(settings, database, None, programme=True) as harness:
        yield harness


@asynccontextmanager
async def _harness(
    settings: Settings, database: Database, clock: Clock | None, *, programme: bool = False
) -> AsyncIterator[Harness]:
    async with SandboxServer(limits=Limits()) as sandbox:
        settings = settings.model_copy(
            update={
                "telegram_base_url": sandbox.base_url,
                "telegram_base_file_url": sandbox.base_file_url,
            }
        )
        sandbox.add_group(settings.staff_chat_id, "Nhóm chăm sóc khách hàng")
        if clock is None:
            services = build_services(settings, database=database)
        else:
            services = build_services(settings, database=database, clock=clock)
        harness = Harness(sandbox, services, settings, programme=programme)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
