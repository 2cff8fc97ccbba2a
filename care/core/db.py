"""Engine, sessions and the unit of work: the one way to reach the database.

A service opens ``async with db.uow() as uow:``, works with ``uow.session`` and calls
``await uow.commit()``; leaving the block without committing rolls everything back, so
a failure half-way changes nothing.

A service can also take part in a caller's unit of work: ``async with db.uow(within=uow)``
gives it the caller's session, and its ``commit`` is left to the caller, who commits once
for everything. The bot handles each chat update this way (see bot/application.py): the
update's unit is opened with ``autoflush=False`` and writes nothing until it commits, so
no write lock is held while the bot waits for Telegram, and what a service adds in it is
stored together with the interaction log of that update, in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Executable, event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from care.core.settings import async_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


async def driver_connection(connection: AsyncConnection | AsyncSession) -> Any:
    """The database driver's own connection (asyncpg's or aiosqlite's) under this one, for
    the few bulk paths where SQLAlchemy's per-row objects cost too much (COPY, executemany)."""
    if isinstance(connection, AsyncSession):
        connection = await connection.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    return driver


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


Params = dict[str, Any]


class UnitOfWork:
    """One transaction. Commit explicitly; anything else rolls back.

    The session can go on after a commit: the next statement starts a new transaction,
    which the next commit (or the end of the block) closes.
    """

    def __init__(
        self, factory: async_sessionmaker[AsyncSession], *, autoflush: bool = True
    ) -> None:
        self._factory = factory
        self._autoflush = autoflush
        self._later: list[tuple[Executable, Params | None]] = []
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._factory(autoflush=self._autoflush)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._later.clear()
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    def later(self, statement: Executable, params: Params | None = None) -> None:
        """A write to run when the unit commits, not now: it then holds no lock while the
        unit still reads or waits, and rows of one statement go in one executemany.

        Later writes run before the session's own flush and must not depend on one
        another's order (counters, new rows, updates by key): the writes of one statement
        are sent together, at the place of its first one.
        """
        self._later.append((statement, params))

    def take_back(self, params: Params) -> bool:
        """Drop the later write made with ``params`` (the very dict) if it has not run yet;
        False if it has (it was committed)."""
        for position, (_, waiting) in enumerate(self._later):
            if waiting is params:
                del self._later[position]
                return True
        return False

    @property
    def pending(self) -> bool:
        """True when something is waiting for the commit (added objects, later writes)."""
        session = self.session
        return bool(self._later or session.new or session.dirty or session.deleted)

    async def commit(self) -> None:
        later, self._later = self._later, []
        writes: list[tuple[Executable, list[Params] | None]] = []
        rows_of: dict[int, list[Params]] = {}  # statement -> its rows, for one executemany
        for statement, params in later:
            if params is None:
                writes.append((statement, None))
            elif id(statement) in rows_of:
                rows_of[id(statement)].append(params)
            else:
                rows_of[id(statement)] = [params]
                writes.append((statement, rows_of[id(statement)]))
        for statement, rows in writes:
            await self.session.execute(statement, rows)
        await self.session.commit()

    async def rollback(self) -> None:
        self._later.clear()
        await self.session.rollback()


class Joined(UnitOfWork):
    """A caller's unit of work as a service sees it: the same session and later writes,
    while committing and rolling back stay with the caller, who owns the transaction."""

    def __init__(self, owner: UnitOfWork) -> None:
        self._owner = owner
        self.session = owner.session

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The owner decides what becomes of the work, whatever happened here."""

    def later(self, statement: Executable, params: Params | None = None) -> None:
        self._owner.later(statement, params)

    def take_back(self, params: Params) -> bool:
        return self._owner.take_back(params)

    @property
    def pending(self) -> bool:
        return self._owner.pending

    async def commit(self) -> None:
        """The owner commits once, for everything done in its unit."""

    async def rollback(self) -> None:
        raise RuntimeError("a service cannot roll back its caller's unit of work")


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

    def uow(self, *, within: UnitOfWork | None = None, autoflush: bool = True) -> UnitOfWork:
        """A new unit of work, or ``within``'s when a caller hands its own to a service.

        ``autoflush=False``: objects added are written when the unit commits, not before
        the next query (the bot's per-update unit, which must hold no lock while it waits).
        """
        if within is not None:
            return Joined(within)
        return UnitOfWork(self.sessions, autoflush=autoflush)

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
