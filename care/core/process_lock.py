"""One process at a time per database: a lock held for a process's life, freed when it dies.

Some work must have one doer per shop, whatever the number of processes or machines that
share its database: two processes long-polling the same bot take each other's updates
(Telegram answers the second getUpdates with 409 Conflict). The lock lives where the
database lives, so it covers everything that shares it:

- PostgreSQL: a session advisory lock, on a connection of its own kept open for the life
  of the holder. The server frees it when that session ends, however the process ended.
- SQLite: ``flock`` on a file beside the database file. The kernel frees it when the file
  is closed, which includes the process being killed.

Nothing is left behind that would block a restart after a crash: no stale flag or row to
clear by hand. The lock file stays (it names its last holder) but locks nothing by itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from care.core.db import create_engine
from care.core.settings import async_database_url


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` says which, when it can be told."""

    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"the {name} lock is held by {holder or 'another process'}")
        self.name = name
        self.holder = holder


def lock_file(database: str, name: str) -> Path:
    """The lock file of a SQLite database: beside it, so every process that opens it agrees."""
    return Path(f"{Path(database).resolve()}.{name}.lock")


def this_process() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


@asynccontextmanager
async def process_lock(
    database_url: str, name: str, *, schema: str | None = None
) -> AsyncIterator[None]:
    """Hold the lock ``name`` of this database for the block, or raise ``LockHeld`` at once.

    Never waits: the caller is told straight away that another process has it. On
    PostgreSQL the lock belongs to the schema the shop works in, so shops sharing one
    database in schemas of their own do not exclude each other.
    """
    url = async_database_url(database_url)
    if url.startswith("postgresql"):
        async with _advisory_lock(url, f"carebot:{name}:{schema or 'public'}", name):
            yield
    elif url.startswith("sqlite"):
        database = make_url(url).database
        if not database or database == ":memory:":
            yield  # a database of this process alone: nobody else to exclude
            return
        with _file_lock(database, name):
            yield
    else:
        raise ValueError(f"no process lock for the database {make_url(url).drivername}")


@asynccontextmanager
async def _advisory_lock(url: str, key_text: str, name: str) -> AsyncIterator[None]:
    key = int.from_bytes(
        hashlib.blake2b(key_text.encode(), digest_size=8).digest(), "big", signed=True
    )
    # Its own connection, outside any pool, named after us so the refused can say who holds it.
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": {"application_name": f"carebot {this_process()}"}},
    )
    try:
        connection = await engine.connect()
        # Autocommit: the lock belongs to the session, and no transaction is left open for
        # the life of the process (an idle transaction would hold back vacuum).
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            if not got:
                raise LockHeld(name, await _advisory_holder(connection, key))
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            await connection.close()
    finally:
        await engine.dispose()


async def _advisory_holder(connection: AsyncConnection, key: int) -> str | None:
    """The holder's connection name (it names its process and host), if the server says."""
    # A bigint advisory lock shows in pg_locks as its high and low 32 bits.
    found = await connection.scalar(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = :high AND l.objid::bigint = :low"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
    )
    if isinstance(found, str) and found.startswith("carebot "):
        return found.removeprefix("carebot ")
    return None


@contextmanager
def _file_lock(database: str, name: str) -> Iterator[None]:
    """``flock`` on ``<database>.<name>.lock`` for the block; the file records who holds it."""
    fd = os.open(lock_file(database, name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            raise LockHeld(name, holder or None) from None
        os.ftruncate(fd, 0)
        os.write(fd, this_process().encode())
        yield
    finally:
        os.close(fd)  # closing the file frees the lock
