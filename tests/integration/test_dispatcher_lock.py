"""The dispatcher lock: how `carebot campaign send` learns that a running bot sends the
outbox of its database (a file lock beside SQLite, an advisory lock on PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from care.core.db import Database
from care.core.process_lock import FileLock, NoLock
from care.core.settings import Settings
from scheduler.dispatcher import dispatcher_lock

ROOT = Path(__file__).resolve().parent.parent

HOLDER = """
import asyncio, sys
from care.core.db import Database
from scheduler.dispatcher import dispatcher_lock

async def main() -> None:
    db = Database(sys.argv[1], schema=sys.argv[2] or None)
    assert await dispatcher_lock(db).acquire()
    print("held", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_held_lock_is_seen_from_elsewhere_until_it_is_let_go(
    database: Database,
) -> None:
    running_bot, shell = dispatcher_lock(database), dispatcher_lock(database)
    assert not await shell.held_elsewhere()

    assert await running_bot.acquire()
    assert await shell.held_elsewhere()
    assert not await shell.acquire()  # a second bot on the database does not get it

    await running_bot.release()
    assert not await shell.held_elsewhere()
    assert await shell.acquire()
    await shell.release()


async def test_the_lock_goes_with_a_killed_process(database: Database, settings: Settings) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        settings.database_url,
        settings.database_schema or "",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"held"
        assert await dispatcher_lock(database).held_elsewhere()
    finally:
        holder.send_signal(signal.SIGKILL)  # no chance to let go: the system does it
        await holder.wait()
    for _ in range(50):  # PostgreSQL notices the lost connection within moments
        if not await dispatcher_lock(database).held_elsewhere():
            break
        await asyncio.sleep(0.1)
    assert not await dispatcher_lock(database).held_elsewhere()


def test_the_lock_file_sits_beside_the_sqlite_database(tmp_path: Path) -> None:
    lock = dispatcher_lock(Database(f"sqlite:///{tmp_path / 'shop.db'}"))
    assert isinstance(lock, FileLock)
    assert lock.path == tmp_path / "shop.db.dispatcher.lock"
    assert isinstance(dispatcher_lock(Database("sqlite://")), NoLock)  # in memory: one process
