"""A dispatcher killed in the middle of a campaign and started again at once sends every
message exactly once, counted where the messages arrive (the sandbox Telegram, the SMTP
server).

The dispatcher runs in a child process that is SIGKILLed mid-campaign: for Telegram as soon
as the sandbox has accepted a share of the campaign, for e-mail at the worst moment, when
the SMTP server has a message and has not answered 250 yet. A second child started right
after settles the dead one's send journal and sends the rest. A dispatcher cancelled at
that same moment (the bot shutting down) settles its own group before it returns.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from telegram import Bot

from bot.sandbox import SandboxServer
from care.core.db import Database
from care.core.models import OutboxStatus
from care.core.settings import Settings
from care.outreach.campaigns import CampaignSpec
from care.services import Services, build_services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel, SmtpChannel
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN, make_customer, outbox_rows
from tests.integration.servers import SmtpRecorder, smtp_settings

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 40
KILL_AFTER = 15


def campaign(channel: str) -> CampaignSpec:
    return CampaignSpec.parse(
        {
            "name": f"Khuyến mãi ({channel})",
            "channel": channel,
            "template": {"vi": "Chào {{ name }}! Ưu đãi <b>10%</b>"},
            "subject": {"vi": "Ưu đãi"},
            "holdout": 0,  # everyone: this is about delivery, not its effect
        }
    )


async def current_schema(services: Services) -> str:
    if services.db.dialect != "postgresql":
        return ""
    async with services.db.engine.connect() as conn:
        return str(await conn.scalar(text("SELECT current_schema()")))


async def run_child(
    services: Services,
    now: datetime,
    *,
    sandbox: SandboxServer | None = None,
    smtp_port: int | None = None,
) -> Any:
    """Start a dispatcher process on the test's database, pointed at the sandbox Telegram
    or at the SMTP server."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.test_crash_restart",
        services.settings.database_url,
        await current_schema(services),
        sandbox.base_url if sandbox else "",
        str(smtp_port or ""),
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

    first = await run_child(services, clock(), sandbox=sandbox)
    got_some = await sandbox.world.wait_until(lambda: len(sandbox.sent()) >= KILL_AFTER, 30)
    os.kill(first.pid, signal.SIGKILL)
    await first.wait()
    assert got_some, "the first dispatcher sent nothing"
    delivered_before = len(sandbox.sent())
    assert KILL_AFTER <= delivered_before < CUSTOMERS, "killed mid-campaign"

    second = await run_child(services, clock(), sandbox=sandbox)  # at once, no lease to wait
    assert await asyncio.wait_for(second.wait(), 60) == 0

    per_chat = Counter(message.chat_id for message in sandbox.sent())
    assert sorted(per_chat) == chats
    assert set(per_chat.values()) == {1}, "a customer got the promotion twice"
    statuses = Counter(row.status for row in await outbox_rows(services))
    assert statuses["sent"] + statuses[OutboxStatus.UNCERTAIN] == CUSTOMERS
    assert statuses[OutboxStatus.UNCERTAIN] <= 1  # at most the one in flight when it died


async def test_a_dispatcher_killed_between_smtp_accept_and_its_answer_never_resends(
    services: Services, smtp_server: tuple[SmtpRecorder, int], clock: Any
) -> None:
    server, port = smtp_server
    addresses = await email_campaign(services)
    first = await run_child(services, clock(), smtp_port=port)

    def kill_before_answering(count: int) -> None:
        if count == KILL_AFTER:  # the server has the message; the sender dies now
            os.kill(first.pid, signal.SIGKILL)

    server.on_accept = kill_before_answering
    assert await asyncio.wait_for(first.wait(), 60) == -signal.SIGKILL
    server.on_accept = None
    assert len(server.messages) == KILL_AFTER
    statuses = Counter(row.status for row in await outbox_rows(services))
    assert statuses == {OutboxStatus.SENDING: CUSTOMERS}, "the dead child's group is claimed"

    second = await run_child(services, clock(), smtp_port=port)  # at once, no lease to wait
    assert await asyncio.wait_for(second.wait(), 60) == 0

    per_address = Counter(str(message["To"]) for message in server.messages)
    assert sorted(per_address) == sorted(addresses)
    assert set(per_address.values()) == {1}, "an e-mail was sent twice"
    rows = await outbox_rows(services)
    assert Counter(row.status for row in rows) == {"sent": CUSTOMERS - 1, OutboxStatus.UNCERTAIN: 1}
    interrupted = next(row for row in rows if row.status == OutboxStatus.UNCERTAIN)
    assert interrupted.recipient == str(server.messages[KILL_AFTER - 1]["To"])


async def test_a_dispatcher_cancelled_between_smtp_accept_and_its_answer_settles_its_group(
    services: Services, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    server, port = smtp_server
    addresses = await email_campaign(services)
    channel = SmtpChannel(smtp_settings(services.settings, port))
    dispatcher = Dispatcher(services, telegram=None, email=channel)
    task = asyncio.create_task(dispatcher.drain())
    loop = asyncio.get_running_loop()
    cancelled = threading.Event()

    def cancel_before_answering(count: int) -> None:
        if count == KILL_AFTER:
            loop.call_soon_threadsafe(lambda: (task.cancel(), cancelled.set()))
            cancelled.wait(5)

    server.on_accept = cancel_before_answering
    with pytest.raises(asyncio.CancelledError):
        await task
    channel.client.close()
    server.on_accept = None
    statuses = Counter(row.status for row in await outbox_rows(services))
    assert statuses == {
        "sent": KILL_AFTER - 1,
        OutboxStatus.UNCERTAIN: 1,
        "pending": CUSTOMERS - KILL_AFTER,
    }

    restarted = Dispatcher(
        services, telegram=None, email=SmtpChannel(smtp_settings(services.settings, port))
    )
    report = await restarted.drain()
    await restarted.close()

    assert report["recovered"] == 0 and report["sent"] == CUSTOMERS - KILL_AFTER
    per_address = Counter(str(message["To"]) for message in server.messages)
    assert sorted(per_address) == sorted(addresses)
    assert set(per_address.values()) == {1}, "an e-mail was sent twice"


async def email_campaign(services: Services) -> list[str]:
    """CUSTOMERS customers with e-mail consent, and a campaign to them started."""
    addresses = [f"k{n}@example.com" for n in range(CUSTOMERS)]
    for address in addresses:
        await make_customer(services, telegram_user_id=None, email=address, consent_email=True)
    await services.care.campaigns.create(campaign("email"))
    await services.care.campaigns.start("Khuyến mãi (email)")
    return addresses


# --- the child process ----------------------------------------------------------------------


async def _dispatch_once(
    url: str, schema: str, base_url: str, smtp_port: str, now: str, outbox_dir: str
) -> None:
    options: dict[str, Any] = {}
    if schema:
        options["connect_args"] = {"server_settings": {"search_path": schema}}
    database = Database(url, **options)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_token=TOKEN,
        telegram_base_url=base_url or Settings.model_fields["telegram_base_url"].default,
        smtp_host="127.0.0.1" if smtp_port else None,
        smtp_port=int(smtp_port or 25),
        smtp_starttls=False,
        outbox_dir=Path(outbox_dir),
        # One request at a time: when the sandbox has the 15th message, the next request
        # is a pacing interval (36 ms) away, so the kill lands between Telegram's accept
        # and the journal's note of it, or just after: the moments this test is about.
        telegram_send_concurrency=1,
    )
    moment = datetime.fromisoformat(now)
    services = build_services(settings, database=database, clock=lambda: moment)
    if base_url:
        async with Bot(TOKEN, base_url=base_url) as bot:
            dispatcher = Dispatcher(
                services,
                telegram=TelegramChannel(
                    bot,
                    messages_per_second=28.0,
                    max_in_flight=settings.telegram_send_concurrency,
                ),
                email=EmlDirectoryChannel(settings.outbox_dir),
            )
            await dispatcher.drain()
    else:
        dispatcher = Dispatcher(services, telegram=None, email=SmtpChannel(settings))
        await dispatcher.drain()
        await dispatcher.close()
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(_dispatch_once(*sys.argv[1:7]))
