"""Whether a running process sends this database's outbox: the lock its dispatcher holds.

`carebot run` (and `carebot demo`) keeps a dispatcher running beside the bot, and its
Telegram messages share the bot's one budget (``scheduler.telegram_budget``), replies to
customers first. `carebot campaign send` typed in a shell meanwhile must not start a second
sender with a budget of its own: two processes pacing themselves each to Telegram's limit
together exceed it (Telegram answers 429, and customers wait behind the campaign). So the
running process's dispatcher holds this lock for as long as it runs, and the shell command
asks whether someone holds it: if so, it only queues the campaign's rows and leaves them to
that dispatcher (which finds them on its next look at the outbox, within seconds); only if
nobody does, it sends them itself, and it hands over should a bot start meanwhile.

Why a lock the operating system or PostgreSQL keeps, rather than a heartbeat row: it is
released the moment its process ends, however it ends (a crash, kill -9, a lost
connection), so "someone holds it" never means "someone held it a while ago", there is no
timer to tune, and the schema does not change.

* SQLite: an exclusive ``flock`` on a file beside the database (``carebot.db`` gets
  ``carebot.db.dispatcher.lock``, which records the holder's process id). SQLite is shared
  only by processes on one machine, and so is the lock. An in-memory database has no other
  process to tell, and no lock.
* PostgreSQL: a session-level advisory lock, keyed by the schema, on a connection of its
  own that the holder keeps open (autocommit, so no transaction stays open with it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import zlib
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from care.core.db import Database

log = logging.getLogger("carebot.dispatcher_lock")

ADVISORY_CLASS = 0x43415245  # "CARE": the first key of our advisory locks
SUFFIX = ".dispatcher.lock"


class DispatcherLock(Protocol):
    """Held by the dispatcher of a running process while it runs."""

    async def acquire(self) -> bool:
        """Take the lock if nobody holds it; True if this object holds it now."""

    async def release(self) -> None:
        """Let the lock go (nothing happens if this object does not hold it)."""

    async def held_elsewhere(self) -> bool:
        """True if another holder has the lock now (ask from an object that does not)."""


def dispatcher_lock(db: Database) -> DispatcherLock:
    """The lock for the outbox of this database."""
    if db.dialect == "postgresql":
        return AdvisoryLock(db.engine, _advisory_key(db.schema))
    database = db.engine.url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    if db.dialect == "sqlite" and not in_memory:
        path = Path(database).resolve()
        return FileLock(path.with_name(path.name + SUFFIX))
    return NoLock()


def _advisory_key(schema: str | None) -> int:
    """A signed 32-bit key for the schema (each test schema, each shop: a lock of its own)."""
    value = zlib.crc32(f"carebot-dispatcher:{schema or ''}".encode())
    return value - 2**32 if value >= 2**31 else value


class FileLock:
    """An exclusive ``flock`` on a file beside the SQLite database."""

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
        os.write(fd, f"{os.getpid()}\n".encode())
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
    """A PostgreSQL session-level advisory lock on a connection kept open while held."""

    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = await self._try_lock()
        if connection is None:
            return False
        self._connection = connection
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._unlock(connection)

    async def held_elsewhere(self) -> bool:
        connection = await self._try_lock()
        if connection is None:
            return True
        await self._unlock(connection)
        return False

    async def _try_lock(self) -> AsyncConnection | None:
        connection = await self.engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:class, :key)"),
                {"class": ADVISORY_CLASS, "key": self.key},
            )
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return None
        return connection

    async def _unlock(self, connection: AsyncConnection) -> None:
        """Unlock before the connection goes back to the pool, where the lock would stay."""
        try:
            await connection.scalar(
                text("SELECT pg_advisory_unlock(:class, :key)"),
                {"class": ADVISORY_CLASS, "key": self.key},
            )
        except Exception:  # the connection is gone, and the lock with its session
            log.warning("could not unlock the dispatcher lock; dropping its connection")
            with contextlib.suppress(Exception):
                await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()


class NoLock:
    """An in-memory database: no other process can send its outbox."""

    async def acquire(self) -> bool:
        return True

    async def release(self) -> None:
        return None

    async def held_elsewhere(self) -> bool:
        return False
