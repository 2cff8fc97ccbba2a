"""Telegram delivery: one message through ``telegram.Bot.send_message`` (or an edit of one
the bot sent), within the limits.

Telegram allows a bot about 30 messages a second overall and about one a second per chat;
above that it answers 429 with ``retry_after``. A pacer on an ideal timeline (rate from
``settings.telegram_messages_per_second``) keeps the overall rate under the limit, and a
per-chat clock spaces messages to one chat. A 429 that still comes pauses the
whole channel for the time Telegram asked.
"""

from __future__ import annotations

import asyncio
import math
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from care.outreach import SKIP_TELEGRAM_BLOCKED, Delivered, Outcome, RetryLater, Undeliverable

PER_CHAT_INTERVAL = 1.05  # seconds between two messages to one chat (Telegram: about 1)


class TokenBucket:
    """At most ``rate`` acquisitions a second, evenly spaced; can be paused.

    Each acquisition gets the next slot of a timeline, one interval after the last slot
    (virtual scheduling, as in GCRA), rather than one interval after the caller happened to
    wake up: a timer that fires a millisecond late then costs nothing, where spacing from
    the wake-up time loses that millisecond on every message (a few percent of the rate).
    Up to a quarter of an interval of lateness is made up, no more, so two acquisitions
    are never closer than three quarters of an interval and no window of one second holds
    more than ``rate + 1`` of them: the margin that keeps 27.5/s under Telegram's 30/s.
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self._next_slot = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Give no slot for ``seconds`` (Telegram said: retry after)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    self._next_slot = max(self._next_slot, time.monotonic())
                    continue
                if now >= self._next_slot:
                    slot = max(self._next_slot, now - self.interval / 4)
                    self._next_slot = slot + self.interval
                    return
                await asyncio.sleep(self._next_slot - now)


class TelegramChannel:
    """Sends outbox rows through a ``telegram.Bot`` (the Application's, or one of our own).

    Requests in flight are kept to what the rate needs while one is being answered (the
    rate times the recent answer time, with half again as margin, plus one; at most
    ``max_in_flight``): a few for Telegram across the world, one or two on a fast link.
    Should Telegram stall for a moment, only those few wait there and are counted
    together when it resumes, not a whole pool's worth that would exceed its limit.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        messages_per_second: float,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        max_in_flight: int = 8,
    ) -> None:
        self.bot = bot
        self.bucket = TokenBucket(messages_per_second)
        self.per_chat_interval = per_chat_interval
        self.max_in_flight = max(1, max_in_flight)
        self._chat_next: dict[int, float] = {}
        self._in_flight = 0
        self._answer_seconds = 0.25  # a running average; starts as for a distant Telegram
        self._freed = asyncio.Event()

    def in_flight_allowed(self) -> int:
        """How many requests may wait for their answer at once, given the recent answers."""
        needed = math.ceil(self.bucket.rate * self._answer_seconds * 1.5) + 1
        return min(self.max_in_flight, needed)

    async def reserve(self) -> None:
        """Wait until one more request may be in flight, and count it (``release`` after)."""
        while self._in_flight >= self.in_flight_allowed():
            self._freed.clear()
            await self._freed.wait()
        self._in_flight += 1

    def release(self) -> None:
        """A request reserved with ``reserve`` has its answer (or will never be sent)."""
        self._in_flight -= 1
        self._freed.set()

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may get another message (0: now)."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - time.monotonic())

    async def acquire(self, chat_id: int) -> None:
        """Wait for the overall rate, then book the chat's next slot."""
        await self.bucket.acquire()
        self._chat_next[chat_id] = time.monotonic() + self.per_chat_interval
        if len(self._chat_next) > 50_000:  # forget chats whose slot has passed
            now = time.monotonic()
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}

    async def send(self, chat_id: int, text: str, reply_markup: dict[str, Any] | None) -> Outcome:
        """One message; every answer Telegram can give becomes an Outcome, none raises."""
        markup = InlineKeyboardMarkup.de_json(reply_markup, self.bot) if reply_markup else None

        async def request() -> str:
            message = await self.bot.send_message(
                chat_id=chat_id, text=text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            return str(message.message_id)

        return await self._outcome(request)

    async def edit(self, chat_id: int, message_id: int, text: str) -> Outcome:
        """Replace the text (or, for a photo, the caption) of a message the bot sent, and
        its buttons with none. Already so: done. Gone or too old to edit: undeliverable."""

        async def request() -> str:
            try:
                await self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
                )
            except BadRequest as exc:
                message = exc.message.lower()
                if "not modified" in message:
                    return str(message_id)
                if "no text in the message" not in message:
                    raise
                await self.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=text,
                    parse_mode=ParseMode.HTML,
                )
            return str(message_id)

        return await self._outcome(request)

    async def _outcome(self, request: Callable[[], Awaitable[str]]) -> Outcome:
        """Run one request; Telegram's answer, whatever it is, becomes an Outcome."""
        started = time.monotonic()
        try:
            detail = await request()
        except RetryAfter as exc:
            seconds = _seconds(exc)
            self.bucket.pause(seconds)
            return RetryLater(f"429: {exc.message}", after=seconds, counts=False)
        except Forbidden as exc:  # blocked, deactivated, kicked from the group
            return Undeliverable(f"403: {exc.message}", SKIP_TELEGRAM_BLOCKED, unreachable=True)
        except ChatMigrated as exc:
            return Undeliverable(f"chat migrated to {exc.new_chat_id}")
        except BadRequest as exc:
            unreachable = "chat not found" in exc.message.lower()
            return Undeliverable(f"400: {exc.message}", unreachable=unreachable)
        except InvalidToken as exc:
            return RetryLater(f"invalid token: {exc.message}")
        except NetworkError as exc:  # includes TimedOut
            return RetryLater(f"network: {exc.message}")
        except TelegramError as exc:
            return RetryLater(f"telegram: {exc.message}")
        finally:
            answer = time.monotonic() - started
            self._answer_seconds = 0.9 * self._answer_seconds + 0.1 * answer
        return Delivered(detail)


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns while retry_after may still be an int
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
