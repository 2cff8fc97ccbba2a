"""One process at a time per database: a lock held for a process's life, freed when it dies.

Some work must have one doer per shop, whatever the number of processes or machines that
share its database:

- ``poller``: two processes long-polling the same bot take each other's updates (Telegram
  answers the second getUpdates with 409 Conflict), so `carebot run` refuses to start twice.
- ``dispatcher``: the running process sends the outbox and paces Telegram on one budget;
  `carebot campaign send` in a shell asks whether the lock is held and, if so, only queues
  its rows for that process instead of starting a second sender.

The lock lives where the database lives, so it covers everything that shares it:

- PostgreSQL: a session advisory lock, on a connection of its own kept open for the life
  of the holder (autocommit, so no transaction stays open with it). The server frees it
  when that session ends, however the process ended. The key includes the schema, so shops
  sharing one database in schemas of their own do not exclude each other.
- SQLite: ``flock`` on a file beside the database file (``carebot.db`` gets
  ``carebot.db.poller.lock``). The kernel frees it when the file is closed, which includes
  the process being killed. An in-memory database has no other process, and no lock.

Why not a heartbeat row: an OS-held lock is released the moment its process ends (a crash,
kill -9, a lost connection), so "someone holds it" never means "someone held it a while
ago", there is no timer to tune and nothing to clear by hand before a restart. The lock
file stays (it names its last holder) but locks nothing by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from care.core.db import create_engine
from care.core.settings import async_database_url

log = logging.getLogger("carebot.process_lock")


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` says which, when it can be told."""

    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"the {name} lock is held by {holder or 'another process'}")
        self.name = name
        self.holder = holder


class ProcessLock(Protocol):
    """A lock of one database, held by at most one object in all processes at a time."""

    async def acquire(self) -> bool:
        """Take the lock if nobody holds it, without waiting; True if this object holds it."""

    async def release(self) -> None:
        """Let the lock go (nothing happens if this object does not hold it)."""

    async def held_elsewhere(self) -> bool:
        """True if another holder has the lock now (ask from an object that does not)."""

    async def holder(self) -> str | None:
        """Who holds the lock, when that can be told ("process 12 on shop-server")."""


def lock_file(database: str, name: str) -> Path:
    """The lock file of a SQLite database: beside it, so every process that opens it agrees."""
    return Path(f"{Path(database).resolve()}.{name}.lock")


def this_process() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


def os_lock(database_url: str, name: str, *, schema: str | None = None) -> ProcessLock:
    """The lock ``name`` of this database (not yet taken)."""
    url = async_database_url(database_url)
    if url.startswith("postgresql"):
        return AdvisoryLock(url, f"carebot:{name}:{schema or 'public'}")
    if url.startswith("sqlite"):
        database = make_url(url).database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            return NoLock()  # a database of this process alone: nobody else to exclude
        return FileLock(lock_file(database, name))
    raise ValueError(f"no process lock for the database {make_url(url).drivername}")


@asynccontextmanager
async def process_lock(
    database_url: str, name: str, *, schema: str | None = None
) -> AsyncIterator[None]:
    """Hold the lock ``name`` of this database for the block, or raise ``LockHeld`` at once:
    the caller is told straight away that another process has it."""
    lock = os_lock(database_url, name, schema=schema)
    if not await lock.acquire():
        raise LockHeld(name, await lock.holder())
    try:
        yield
    finally:
        await lock.release()


class FileLock:
    """An exclusive ``flock`` on a file beside the SQLite database; the file names its holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = self._try_lock()
        if fd is None:
            return False
        os.ftruncate(fd, 0)
        os.write(fd, this_process().encode())
        self._fd = fd
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    async def held_elsewhere(self) -> bool:
        fd = self._try_lock()
        if fd is None:
            return True
        os.close(fd)
        return False

    async def holder(self) -> str | None:
        try:
            named = self.path.read_text("utf-8", "replace").strip()
        except OSError:
            return None
        return named or None

    def _try_lock(self) -> int | None:
        """An open descriptor holding the lock, or None if another one holds it."""
        import fcntl  # POSIX only; imported here so the module loads everywhere

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, kept open while held.

    The connection is outside any pool (a pooled one would keep the lock after release) and
    is named after this process, so a refused process can say who holds the lock.
    """

    def __init__(self, url: str, key_text: str) -> None:
        self.url = url
        self.key = int.from_bytes(
            hashlib.blake2b(key_text.encode(), digest_size=8).digest(), "big", signed=True
        )
        self._connection: AsyncConnection | None = None
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={"server_settings": {"application_name": f"carebot {this_process()}"}},
        )

    async def acquire(self) -> bool:
        if self._connection is not None:
            return True
        self._connection = await self._try_lock()
        return self._connection is not None

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._unlock(connection)
        await self._engine.dispose()

    async def held_elsewhere(self) -> bool:
        connection = await self._try_lock()
        if connection is None:
            return True
        await self._unlock(connection)
        return False

    async def holder(self) -> str | None:
        """The holder's connection name (it names its process and host), if the server says."""
        async with self._engine.connect() as connection:
            # A bigint advisory lock shows in pg_locks as its high and low 32 bits.
            found = await connection.scalar(
                text(
                    "SELECT a.application_name FROM pg_locks l"
                    " JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                    " AND l.classid::bigint = :high AND l.objid::bigint = :low"
                    " AND l.database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF},
            )
        if isinstance(found, str) and found.startswith("carebot "):
            return found.removeprefix("carebot ")
        return None

    async def _try_lock(self) -> AsyncConnection | None:
        connection = await self._engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return None
        return connection

    async def _unlock(self, connection: AsyncConnection) -> None:
        try:
            await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except Exception:  # the connection is gone, and the lock with its session
            log.warning("could not unlock the %s advisory lock; dropping its connection", self.key)
            with contextlib.suppress(Exception):
                await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()


class NoLock:
    """An in-memory database: no other process can share it."""

    async def acquire(self) -> bool:
        return True

    async def release(self) -> None:
        return None

    async def held_elsewhere(self) -> bool:
        return False

    async def holder(self) -> str | None:
        return None
