"""One poller per bot: the database's process lock, and a second `carebot run` turned away.

Runs on the test database: SQLite (a lock file beside it), or PostgreSQL (an advisory lock)
when CAREBOT_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from care.core.process_lock import LockHeld, process_lock
from care.core.settings import Settings
from tests.builders import TOKEN, database_env

ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import asyncio, sys
from care.core.process_lock import process_lock

async def hold(url, schema):
    async with process_lock(url, "poller", schema=schema or None):
        print("held", flush=True)
        await asyncio.sleep(600)

asyncio.run(hold(sys.argv[1], sys.argv[2]))
"""


def lock_of(settings: Settings, name: str = "poller") -> Any:
    return process_lock(settings.database_url, name, schema=settings.database_schema)


async def test_a_second_holder_is_refused_at_once_until_the_first_lets_go(
    settings: Settings,
) -> None:
    async with lock_of(settings):
        started = time.monotonic()
        with pytest.raises(LockHeld) as refused:
            async with lock_of(settings):
                pass
        assert time.monotonic() - started < 5  # told at once, not after a wait
        assert refused.value.holder is not None and f"process {os.getpid()}" in refused.value.holder
        async with lock_of(settings, "another job"):
            pass  # other locks of the same database are independent

    async with lock_of(settings):
        pass  # free again


async def test_a_killed_holder_leaves_nothing_that_blocks_the_next(settings: Settings) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD,
        settings.database_url,
        settings.database_schema or "",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 60) == b"held\n"
        with pytest.raises(LockHeld) as refused:
            async with lock_of(settings):
                pass
        assert f"process {child.pid} " in str(refused.value.holder)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()

    async with lock_of(settings):
        pass


# --- `carebot run`, twice --------------------------------------------------------------------


@asynccontextmanager
async def carebot_run(
    settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`carebot run` polling the sandbox; killed at the end if still running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update(
        database_env(settings),
        CAREBOT_TELEGRAM_TOKEN=TOKEN,
        CAREBOT_TELEGRAM_BASE_URL=sandbox.base_url,
        CAREBOT_TELEGRAM_BASE_FILE_URL=sandbox.base_file_url,
        CAREBOT_WEB_PORT="0",
        CAREBOT_OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def until_running(process: asyncio.subprocess.Process) -> None:
    """Read the log until the bot says it runs, then keep draining it in the background."""
    assert process.stderr is not None
    stream = process.stderr

    async def read() -> None:
        while line := await stream.readline():
            if b"CareBot is running" in line:
                return
        raise AssertionError("carebot run ended before it was running")

    await asyncio.wait_for(read(), 90)
    drain = asyncio.get_running_loop().create_task(stream.read())
    process._drain = drain  # type: ignore[attr-defined]  # kept referenced until the end


@pytest.mark.e2e
async def test_a_second_carebot_run_on_the_same_database_exits_with_a_clear_message(
    settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with carebot_run(settings, sandbox, tmp_path) as first:
        await until_running(first)

        async with carebot_run(settings, sandbox, tmp_path) as second:
            _, err = await asyncio.wait_for(second.communicate(), 60)
        message = " ".join(err.decode().split())

        assert second.returncode == 1
        assert "CareBot is already running for this database" in message
        assert f"process {first.pid} " in message and "stop that one first" in message
        assert first.returncode is None  # the first keeps polling, untouched

        first.send_signal(signal.SIGKILL)
        await first.wait()

    async with carebot_run(settings, sandbox, tmp_path) as restarted:
        await until_running(restarted)  # nothing left behind blocks the restart
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 60) == 0
