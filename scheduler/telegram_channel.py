"""Telegram delivery: one message through ``telegram.Bot.send_message`` (or an edit of one
the bot sent), within the limits.

Telegram allows a bot about 30 messages a second overall and about one a second per chat;
above that it answers 429 with ``retry_after``. The channel takes each message's slot from
a ``TelegramBudget`` (``scheduler.telegram_budget``) as a bulk message, before the message
is handed over: the budget of the Application's bot when the channel sends through it, so
that the bot's replies to customers and staff go first and both stay within one limit, or a
budget of the channel's own for a Bot made just for sending. A 429 that still comes pauses
the budget for the time Telegram asked.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
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
from scheduler.telegram_budget import (
    DEFAULT_RATE,
    PACED,
    TelegramBudget,
    budget_of,
    retry_seconds,
)


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
        messages_per_second: float = DEFAULT_RATE,
        budget: TelegramBudget | None = None,
        max_in_flight: int = 8,
    ) -> None:
        """``budget``: the one to take slots from; by default the bot's own (an
        Application's bot), else a new one at ``messages_per_second``."""
        self.bot = bot
        self.budget = budget or budget_of(bot) or TelegramBudget(messages_per_second)
        # The bot's rate limiter is this budget: tell it the slot is taken already.
        self._paced = {"rate_limit_args": PACED} if budget_of(bot) is self.budget else {}
        self.max_in_flight = max(1, max_in_flight)
        self._in_flight = 0
        self._answer_seconds = 0.25  # a running average; starts as for a distant Telegram
        self._freed = asyncio.Event()

    def in_flight_allowed(self) -> int:
        """How many requests may wait for their answer at once, given the recent answers."""
        needed = math.ceil(self.budget.rate * self._answer_seconds * 1.5) + 1
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
        return self.budget.chat_wait(chat_id)

    async def acquire(self, chat_id: int, *, bulk: bool = True) -> None:
        """Wait for this message's slot in the budget: after every conversation's request
        waiting now when ``bulk`` (campaigns, the care programme), among them if not (the
        staff chat's messages)."""
        await self.budget.acquire(chat_id, bulk=bulk)

    async def send(self, chat_id: int, text: str, reply_markup: dict[str, Any] | None) -> Outcome:
        """One message; every answer Telegram can give becomes an Outcome, none raises."""
        markup = InlineKeyboardMarkup.de_json(reply_markup, self.bot) if reply_markup else None

        async def request() -> str:
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                **self._paced,
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
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=text,
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
            seconds = retry_seconds(exc)
            self.budget.pause(seconds)
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
