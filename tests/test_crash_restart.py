"""A dispatcher killed in the middle of a campaign and started again sends every message
exactly once, counted where the messages arrive (the sandbox Telegram, the SMTP server).

The Telegram case runs the dispatcher in a child process and SIGKILLs it as soon as the
sandbox has accepted a share of the campaign: the child dies between Telegram's accept and
its own commit, or just after. The e-mail case cancels the dispatcher exactly there: the
SMTP server accepts a message and, before answering 250, has the dispatcher cancelled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from telegram import Bot

from bot.sandbox import SandboxServer
from care.campaigns import CampaignSpec
from care.db import Database
from care.models import OutboxStatus
from care.services import Services, build_services
from care.settings import Settings
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel, SmtpChannel
from scheduler.telegram_channel import TelegramChannel
from tests.conftest import make_customer
from tests.helpers import TOKEN, SmtpRecorder, outbox_rows, sandbox, smtp_server, smtp_settings

__all__ = ["sandbox", "smtp_server"]  # fixtures used below

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = 40
KILL_AFTER = 15


def campaign(channel: str) -> CampaignSpec:
    return CampaignSpec.parse(
        {
            "name": f"Khuyến mãi ({channel})",
            "channel": channel,
            "template": {"vi": "Chào {{ name }}! Ưu đãi <b>10%</b>"},
            "subject": {"vi": "Ưu đãi"},
        }
    )


async def current_schema(services: Services) -> str:
    if services.db.dialect != "postgresql":
        return ""
    async with services.db.engine.connect() as conn:
        return str(await conn.scalar(text("SELECT current_schema()")))


async def run_child(services: Services, sandbox: SandboxServer, now: datetime) -> Any:
    """Start a dispatcher process on the test's database, pointed at the sandbox."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.test_crash_restart",
        services.settings.database_url,
        await current_schema(services),
        sandbox.base_url,
        now.isoformat(),
        str(services.settings.outbox_dir),
        cwd=ROOT,
    )


async def test_a_killed_telegram_dispatcher_sends_each_message_once_after_restart(
    services: Services, sandbox: SandboxServer, clock: Any
) -> None:
    chats = [30_000 + n for n in range(CUSTOMERS)]
    for chat in chats:
        sandbox.add_user(chat, f"K{chat}")
        await make_customer(services, telegram_user_id=chat, consent_telegram=True)
    await services.care.campaigns.create(campaign("telegram"))
    assert await services.care.campaigns.start("Khuyến mãi (telegram)") == CUSTOMERS

    first = await run_child(services, sandbox, clock())
    got_some = await sandbox.world.wait_until(lambda: len(sandbox.sent()) >= KILL_AFTER, 30)
    os.kill(first.pid, signal.SIGKILL)
    await first.wait()
    assert got_some, "the first dispatcher sent nothing"
    delivered_before = len(sandbox.sent())
    assert KILL_AFTER <= delivered_before < CUSTOMERS, "killed mid-campaign"

    # Started again once the dead process's lease has expired.
    later = clock() + timedelta(seconds=services.settings.outbox_lease_seconds + 1)
    second = await run_child(services, sandbox, later)
    assert await asyncio.wait_for(second.wait(), 60) == 0

    per_chat = Counter(message.chat_id for message in sandbox.sent())
    assert sorted(per_chat) == chats
    assert set(per_chat.values()) == {1}, "a customer got the promotion twice"
    statuses = Counter(row.status for row in await outbox_rows(services))
    assert statuses["sent"] + statuses[OutboxStatus.UNCERTAIN] == CUSTOMERS
    assert statuses[OutboxStatus.UNCERTAIN] <= 1  # at most the one in flight when it died


async def test_a_dispatcher_cancelled_between_smtp_accept_and_commit_never_resends(
    services: Services, smtp_server: tuple[SmtpRecorder, int], clock: Any
) -> None:
    server, port = smtp_server
    addresses = [f"k{n}@example.com" for n in range(CUSTOMERS)]
    for address in addresses:
        await make_customer(services, telegram_user_id=None, email=address, consent_email=True)
    await services.care.campaigns.create(campaign("email"))
    await services.care.campaigns.start("Khuyến mãi (email)")

    channel = SmtpChannel(smtp_settings(services.settings, port))
    dispatcher = Dispatcher(services, telegram=None, email=channel)
    task = asyncio.create_task(dispatcher.drain())
    loop = asyncio.get_running_loop()
    cancelled = threading.Event()

    def crash_before_answering(count: int) -> None:
        if count == KILL_AFTER:  # the server has the message; the sender dies now
            loop.call_soon_threadsafe(lambda: (task.cancel(), cancelled.set()))
            cancelled.wait(5)

    server.on_accept = crash_before_answering
    with pytest.raises(asyncio.CancelledError):
        await task
    channel.client.close()
    assert len(server.messages) == KILL_AFTER
    server.on_accept = None

    clock.advance(seconds=services.settings.outbox_lease_seconds + 1)
    restarted = Dispatcher(
        services, telegram=None, email=SmtpChannel(smtp_settings(services.settings, port))
    )
    report = await restarted.drain()
    await restarted.close()

    assert report["recovered"] == 1
    per_address = Counter(str(message["To"]) for message in server.messages)
    assert sorted(per_address) == sorted(addresses)
    assert set(per_address.values()) == {1}, "an e-mail was sent twice"
    rows = await outbox_rows(services)
    assert Counter(row.status for row in rows) == {"sent": CUSTOMERS - 1, OutboxStatus.UNCERTAIN: 1}


# --- the child process ----------------------------------------------------------------------


async def _dispatch_once(url: str, schema: str, base_url: str, now: str, outbox_dir: str) -> None:
    options: dict[str, Any] = {}
    if schema:
        options["connect_args"] = {"server_settings": {"search_path": schema}}
    database = Database(url, **options)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_token=TOKEN,
        telegram_base_url=base_url,
        outbox_dir=Path(outbox_dir),
        # One request at a time: when the sandbox has the 15th message, the next claim is
        # a token-bucket interval (36 ms) away, so the kill lands after an accept and
        # before the next claim, the moment this test is about.
        telegram_send_concurrency=1,
    )
    moment = datetime.fromisoformat(now)
    services = build_services(settings, database=database, clock=lambda: moment)
    async with Bot(TOKEN, base_url=base_url) as bot:
        dispatcher = Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28.0),
            email=EmlDirectoryChannel(settings.outbox_dir),
        )
        await dispatcher.drain()
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(_dispatch_once(*sys.argv[1:6]))
