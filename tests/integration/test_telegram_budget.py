"""The one Telegram budget of a bot token: the pace, conversations before bulk messages,
chats at their limit skipped rather than blocking the rest, 429 honoured; and the bot's
replies and the dispatcher's campaign sharing it against the strict sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from telegram.ext import ExtBot

from bot.sandbox import Limits, SandboxServer
from care.outreach.outbox import RetryLater
from scheduler.telegram_budget import PACED, TelegramBudget, counted_chat
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN


@pytest.fixture
async def strict() -> AsyncIterator[SandboxServer]:
    """The sandbox with Telegram's limits: 30 a second, about one a second per chat."""
    async with SandboxServer(token=TOKEN, limits=Limits()) as server:
        yield server


async def test_the_budget_keeps_the_rate() -> None:
    budget = TelegramBudget(rate=50.0)
    start = time.monotonic()
    for n in range(26):
        await budget.acquire(n)
    assert time.monotonic() - start >= 0.48  # 25 intervals of 20 ms after the first slot


async def test_the_budget_makes_up_late_timers_but_never_bursts() -> None:
    budget = TelegramBudget(rate=50.0)
    times = []
    for n in range(120):
        await budget.acquire(n, bulk=True)
        times.append(time.monotonic())
        if n % 10 == 0:
            await asyncio.sleep(0.015)  # the caller comes back late
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 52  # rate + 1, and one for the jitter of reading the clock here
    assert times[-1] - times[0] >= 119 * 0.75 * 0.020


async def test_a_conversation_takes_the_next_slot_before_waiting_bulk_messages() -> None:
    budget = TelegramBudget(rate=20.0)
    order: list[str] = []

    async def take(label: str, chat: int, bulk: bool) -> None:
        await budget.acquire(chat, bulk=bulk)
        order.append(label)

    campaign = [asyncio.create_task(take(f"bulk{n}", 1000 + n, True)) for n in range(8)]
    await asyncio.sleep(0.01)  # the campaign's messages are all waiting for their slots
    reply = asyncio.create_task(take("reply", 7, False))
    await asyncio.gather(*campaign, reply)

    assert order.index("reply") <= 2  # the slot after the one being given when it came
    assert [label for label in order if label != "reply"] == [f"bulk{n}" for n in range(8)]


async def test_a_chat_at_its_limit_waits_without_holding_up_other_chats() -> None:
    budget = TelegramBudget(rate=50.0, chat_burst=3, chat_rate=1.0, margin=0.25)
    granted: dict[str, float] = {}
    start = time.monotonic()

    async def take(label: str, chat: int) -> None:
        await budget.acquire(chat)
        granted[label] = time.monotonic() - start

    await asyncio.gather(
        *(take(f"lan{n}", 7) for n in range(4)), *(take(f"other{n}", 100 + n) for n in range(5))
    )

    assert granted["lan3"] >= 3.2  # three in three seconds (and the margin) to one chat
    assert max(granted[f"other{n}"] for n in range(5)) < 1.0  # the others did not wait
    assert budget.chat_wait(100) == 0.0


async def test_only_messages_into_a_chat_are_counted() -> None:
    assert counted_chat("sendMessage", {"chat_id": 7}) == 7
    assert counted_chat("editMessageText", {"chat_id": "-1001", "message_id": 3}) == -1001
    assert counted_chat("sendMessage", {"chat_id": "@shop_channel"}) == "@shop_channel"
    assert counted_chat("sendChatAction", {"chat_id": 7}) is None
    assert counted_chat("answerCallbackQuery", {"callback_query_id": "1"}) is None
    assert counted_chat("editMessageText", {"inline_message_id": "x"}) is None


async def test_after_a_429_a_reply_waits_as_asked_and_goes() -> None:
    async with SandboxServer(token=TOKEN, limits=Limits(global_per_second=2)) as tight:
        for chat in (7001, 7002, 7003):
            tight.add_user(chat, f"K{chat}")
        budget = TelegramBudget(rate=100.0)  # faster than this Telegram allows
        async with ExtBot(TOKEN, base_url=tight.base_url, rate_limiter=budget) as bot:
            for chat in (7001, 7002, 7003):
                await bot.send_message(chat, "Dạ, cửa hàng mở cửa từ 8:00")

        assert tight.stats.too_many_requests == 1  # the third, once; then it waited
        assert [len(tight.sent(chat)) for chat in (7001, 7002, 7003)] == [1, 1, 1]


async def test_a_bulk_message_is_not_retried_by_the_budget_but_handed_back(
    strict: SandboxServer,
) -> None:
    strict.add_user(7001, "Lan")
    budget = TelegramBudget(rate=100.0)
    async with ExtBot(TOKEN, base_url=strict.base_url, rate_limiter=budget) as bot:
        channel = TelegramChannel(bot)
        assert channel.budget is budget  # the bot's budget, shared
        for _ in range(3):
            await channel.acquire(7001)
            await bot.send_message(7001, "Ưu đãi", rate_limit_args=PACED)
        # A fourth at once, without asking the budget: Telegram refuses it.
        outcome = await channel.send(7001, "Ưu đãi", None)

        assert strict.stats.too_many_requests == 1
        assert isinstance(outcome, RetryLater)  # the dispatcher puts the row back
        started = time.monotonic()
        await budget.acquire(7002)  # and the whole budget waits as Telegram asked
        assert time.monotonic() - started >= 0.9


async def test_replies_and_a_campaign_through_one_budget_draw_no_429(
    strict: SandboxServer,
) -> None:
    """Customers' replies at full speed beside a campaign paced at 27.5/s: together they
    would exceed 30 a second; through one budget they never do."""
    campaign_chats = range(10_000, 10_180)
    customers = range(7001, 7006)
    for chat in (*campaign_chats, *customers):
        strict.add_user(chat, f"K{chat}")
    budget = TelegramBudget(rate=27.5)
    async with ExtBot(TOKEN, base_url=strict.base_url, rate_limiter=budget) as bot:
        channel = TelegramChannel(bot)

        async def campaign() -> None:
            sends = []
            for chat in campaign_chats:
                await channel.acquire(chat)
                sends.append(asyncio.create_task(channel.send(chat, "Ưu đãi Tết", None)))
            await asyncio.gather(*sends)

        async def chatting(chat: int) -> list[float]:
            waits = []
            for _ in range(5):
                asked = time.monotonic()
                await bot.send_message(chat, "Dạ, cửa hàng mở cửa từ 8:00 đến 21:30")
                waits.append(time.monotonic() - asked)
                await asyncio.sleep(1.2)
            return waits

        sending = asyncio.create_task(campaign())
        await asyncio.sleep(1.0)
        waits = await asyncio.gather(*(chatting(chat) for chat in customers))
        await sending

    assert strict.stats.too_many_requests == 0
    assert len(strict.sent()) == len(campaign_chats) + 5 * len(customers)
    assert max(max(w) for w in waits) < 1.0  # a slot, not the campaign's queue, away
    assert budget.granted == {"prompt": 25, "bulk": len(campaign_chats)}
