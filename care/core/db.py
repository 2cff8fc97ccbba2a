"""Engine, sessions and the unit of work: the one way to reach the database.

A service opens ``async with db.uow() as uow:``, works with ``uow.session`` and calls
``await uow.commit()``; leaving the block without committing rolls everything back, so
a failure half-way changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from care.core.settings import async_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

    SQLite gets foreign keys on, WAL journaling and a busy timeout, so the bot, the
    scheduler and a CLI command can share one file, and secure_delete, so the space an
    erased text leaves is overwritten with zeros instead of keeping the words.
    """
    url = async_database_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class UnitOfWork:
    """One transaction. Commit explicitly; anything else rolls back."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class Database:
    """The engine and the one session factory of a process."""

    def __init__(self, url: str, *, schema: str | None = None, **engine_kwargs: Any) -> None:
        self.url = async_database_url(url)
        self.schema = schema
        if schema and self.url.startswith("postgresql"):
            # Every connection works in the schema: tables, migrations and Alembic's own
            # version table all land there, so one PostgreSQL database can host several.
            engine_kwargs.setdefault("connect_args", {}).setdefault(
                "server_settings", {"search_path": schema}
            )
        self.engine = create_engine(self.url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (safe to call on every start)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def release_old_pages(self) -> None:
        """After an erasure: let no copy of the erased pages stay on disk.

        SQLite writes changed pages to its write-ahead log first; the previous versions
        of the pages stay there until a checkpoint copies the new ones into the database
        file, and the log's bytes stay until they are overwritten. A checkpoint that
        truncates the log removes them (secure_delete has zeroed the freed space in the
        pages themselves). Should a reader hold the log meanwhile, the next checkpoint
        does it. PostgreSQL keeps old row versions until VACUUM reuses their space;
        autovacuum does that on its own.
        """
        if self.dialect != "sqlite":
            return
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured from code, so migrations run without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
