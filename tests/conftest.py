"""What every layer of the suite shares: the layer markers, PostgreSQL's switch, a settable
clock, settings, and the database fixtures integration and end-to-end tests stand on.

The suite has three layers, one directory each: ``unit`` (no database, no Telegram, no
network), ``integration`` (database, SMTP, the sandbox Telegram, the CLI, subprocesses) and
``e2e`` (the real Application through the sandbox). A test is marked with its layer by where
it lives, so ``pytest -m unit`` runs the fast ones.

Tests run on SQLite by default. With CAREBOT_TEST_DATABASE_URL pointing at PostgreSQL,
every database test runs there instead, each in a schema of its own that is dropped
afterwards; tests marked ``postgres`` run only then.

Nothing here imports Telegram or the sandbox: those fixtures are in the conftest of the
layer that uses them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from care.core.db import Database, create_engine
from care.core.settings import Settings
from care.services import Services, build_services
from tests.builders import Clock, make_settings

PG_URL = os.environ.get("CAREBOT_TEST_DATABASE_URL")
LAYERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"database: PostgreSQL at {PG_URL} (a schema per test)"
    return "database: SQLite (set CAREBOT_TEST_DATABASE_URL to run on PostgreSQL too)"


def layer_of(path: Path) -> str | None:
    """The layer a test file belongs to: the directory under tests/ it sits in."""
    try:
        first = path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return first if first in LAYERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="CAREBOT_TEST_DATABASE_URL is not set: no PostgreSQL to use")
    for item in items:
        layer = layer_of(item.path)
        if layer is not None:
            item.add_marker(layer)
        if not PG_URL and "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 10:00 in Ho Chi Minh City


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty directory, as a shop would on a fresh machine."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


# --- the database: for integration and end-to-end tests ---------------------------------------


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
def settings(tmp_path: Path, pg_schema: str | None) -> Settings:
    """Settings for a test, naming the test's database (the unit layer has its own)."""
    return make_settings(tmp_path, database_url=PG_URL, database_schema=pg_schema)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """An empty database with the schema applied through the migrations."""
    db = Database(settings.database_url, schema=settings.database_schema)
    try:
        await db.upgrade()
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def services(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[Services]:
    """The care services on a fresh database, with a settable clock."""
    services = build_services(settings, database=database, clock=clock)
    await services.start()
    yield services
