"""Conversations before campaigns: while the bot sends a campaign through its outbox,
customers who ask a question are answered at once, and Telegram (the sandbox, with its
limits) never has to say "too many requests" — however the campaign was started: by the
bot's own scheduler, or by `carebot campaign send` typed in a shell while the bot runs,
which hands the sending to the bot."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from care.core.models import CampaignStatus
from care.outreach.campaigns import CampaignSpec
from tests.builders import database_env, make_customer
from tests.e2e.conftest import Harness

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO_FAQ = ROOT / "care" / "io" / "demo_faq.yaml"
OPENING_HOURS = "Các cửa hàng mở cửa từ 8:00 đến 21:30"
CAREBOT = Path(sys.executable).with_name("carebot")


async def campaign_audience(harness: Harness, size: int) -> list[int]:
    """``size`` customers who said yes to promotions by Telegram; their chat ids."""
    chats = []
    for n in range(size):
        chat = 8_000_000 + n
        harness.sandbox.add_user(chat, f"Khách {n}")
        await make_customer(harness.services, telegram_user_id=chat, consent_telegram=True)
        chats.append(chat)
    return chats


async def create_campaign(harness: Harness, name: str) -> None:
    await harness.services.care.campaigns.create(
        CampaignSpec.parse(
            {
                "name": name,
                "channel": "telegram_only",
                "template": {
                    "vi": "Chào {{ name }}! Ưu đãi tháng này: <b>{{ offer }}</b>",
                    "en": "Hello {{ name }}! This month: <b>{{ offer }}</b>",
                },
                "offers": {"default": "giảm 10%"},
                "holdout": 0,  # everyone: this is about delivery, not its effect
            }
        )
    )


async def campaign_received(harness: Harness, chats: list[int]) -> int:
    return sum(1 for chat in chats for m in harness.sandbox.sent(chat) if "Ưu đãi" in m.text)


async def wait_until_sending(harness: Harness, chats: list[int], *, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await campaign_received(harness, chats):
        assert time.monotonic() < deadline, "the campaign never started going out"
        await asyncio.sleep(0.05)


async def ask_while_it_runs(harness: Harness, customers: int, rounds: int) -> list[float]:
    """Each customer asks the opening hours ``rounds`` times, a little over a second apart
    (as fast as Telegram lets the bot answer one chat); the seconds each answer took."""

    async def one(person_index: int) -> list[float]:
        person = harness.customer(f"Hỏi {person_index}")
        waits = []
        for _ in range(rounds):
            asked = time.monotonic()
            answer = await person.says("cửa hàng mở cửa lúc mấy giờ", timeout=10)
            waits.append(time.monotonic() - asked)
            assert OPENING_HOURS in answer.text
            await asyncio.sleep(1.2)
        return waits

    results = await asyncio.gather(*(one(n) for n in range(customers)))
    return [wait for waits in results for wait in waits]


async def campaign_done(harness: Harness, name: str, *, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while (await harness.services.care.campaigns.get(name)).status != CampaignStatus.DONE:
        assert time.monotonic() < deadline, "the campaign did not finish"
        await asyncio.sleep(0.2)


async def test_customers_are_answered_promptly_during_a_campaign_with_no_429(
    programme_bot: Harness,
) -> None:
    """Five customers asking about once a second beside a campaign that alone would take
    27.5 messages a second: together more than Telegram's 30, so only one budget with the
    replies first keeps every answer prompt and Telegram silent."""
    assert not (await programme_bot.services.faq.import_file(DEMO_FAQ)).errors
    chats = await campaign_audience(programme_bot, 300)
    await create_campaign(programme_bot, "Tháng 11")

    await programme_bot.services.care.campaigns.start("Tháng 11")  # as the console does
    dispatcher = programme_bot.application.bot_data["care_scheduler"].dispatcher
    dispatcher.wake()
    await wait_until_sending(programme_bot, chats, timeout=10)
    waits = await ask_while_it_runs(programme_bot, customers=5, rounds=6)
    assert await campaign_received(programme_bot, chats) < len(chats)  # asked during it

    await campaign_done(programme_bot, "Tháng 11", timeout=60)
    assert await campaign_received(programme_bot, chats) == len(chats)
    assert programme_bot.sandbox.stats.too_many_requests == 0
    waits.sort()
    # Loopback answers come in tens of milliseconds; the bounds leave room for a busy
    # machine, not for waiting behind the campaign (300 messages: 11 seconds).
    assert waits[len(waits) // 2] < 1.0, waits
    assert waits[-1] < 5.0, waits


async def run_cli(harness: Harness, *args: str, token: bool) -> tuple[int, str]:
    """`carebot ARGS` in a process of its own on the bot's database, as typed in a shell."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREBOT_")}
    env.update(database_env(harness.settings))
    env.update(
        {
            "CAREBOT_OUTBOX_DIR": str(harness.settings.outbox_dir),
            "CAREBOT_QUIET_HOURS_START": "00:00",
            "CAREBOT_QUIET_HOURS_END": "00:00",
            "CAREBOT_STAFF_CHAT_ID": str(harness.settings.staff_chat_id),
            "COLUMNS": "200",
        }
    )
    if token:
        env["CAREBOT_TELEGRAM_TOKEN"] = harness.settings.telegram_token.get_secret_value()  # type: ignore[union-attr]
        env["CAREBOT_TELEGRAM_BASE_URL"] = harness.sandbox.base_url
    process = await asyncio.create_subprocess_exec(
        str(CAREBOT),
        *args,
        cwd=harness.settings.outbox_dir.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_campaign_sent_from_a_shell_is_handed_to_the_running_bot(
    programme_bot: Harness,
) -> None:
    """The shell has no bot token at all: had it tried to send, it would have failed."""
    chats = await campaign_audience(programme_bot, 40)
    await create_campaign(programme_bot, "Từ dòng lệnh")

    code, output = await run_cli(programme_bot, "campaign", "send", "Từ dòng lệnh", token=False)

    assert code == 0, output
    assert "40 messages queued" in output
    assert "the running bot sends them" in output
    assert "sent: 40" in output  # it followed the bot's progress to the end
    assert await campaign_received(programme_bot, chats) == len(chats)
    assert programme_bot.sandbox.stats.too_many_requests == 0


async def test_with_no_bot_running_the_shell_sends_the_campaign_itself(
    programme_bot: Harness,
) -> None:
    chats = await campaign_audience(programme_bot, 10)
    await create_campaign(programme_bot, "Không có bot")
    await programme_bot.stop()  # the bot process is gone; its sandbox Telegram stays

    code, output = await run_cli(programme_bot, "campaign", "send", "Không có bot", token=True)

    assert code == 0, output
    assert "the running bot" not in output
    assert "sent: 10" in output
    assert await campaign_received(programme_bot, chats) == len(chats)
