"""Ticket cards in the staff chat: posted once, and posted later if Telegram did not take them.

A ticket is written to the database first (filed by a customer, or opened by a low
rating), then its card goes to the staff chat. Should Telegram fail at that moment, for
longer than a request's retries, or the bot stop in between, the ticket row itself says
what is missing: no card message, or no message for the photo under it
(``ComplaintService.unposted_cards``). ``TicketCards`` looks for such tickets when the bot
starts, right after a post failed and then at growing intervals (1 s, 2 s, 4 s ... at most
``ticket_card_retry_seconds``, which is also how often it looks when all is well), and
posts what is missing, oldest first, until nothing is.

Every card of this process is posted under one lock, and the ticket is read again under
it, so a card is never posted twice: not by a handler and the retry at the same time, not
by two handlers. (One process polls a bot: Telegram refuses a second poller.) The one
exception is Telegram's own: a card sent whose answer was lost is not known to be there,
and is posted again. A card posted by the retry has no introduction line (the low rating
that opened a ticket is in its description all the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.context import CareContext
from bot.handlers.complaints import send_card
from care.services import Services

log = logging.getLogger("carebot.bot")

FIRST_RETRY_SECONDS = 1.0


class TicketCards:
    """Posts ticket cards to the staff chat, and retries those Telegram did not take."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        interval: float,
        first_retry: float = FIRST_RETRY_SECONDS,
    ) -> None:
        self.application = application
        self.interval = interval
        self.first_retry = min(first_retry, interval)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    async def post(self, context: CareContext, ticket_id: int, intro: str | None = None) -> bool:
        """Post what the staff chat lacks of a ticket's card; False if Telegram did not
        take it (it is tried again later)."""
        if not await self._post(context, ticket_id, intro):
            self._wake.set()
            return False
        return True

    async def _post(self, context: CareContext, ticket_id: int, intro: str | None) -> bool:
        if self.services.settings.staff_chat_id is None:
            log.warning("CAREBOT_STAFF_CHAT_ID is not set: ticket cards are not posted")
            return True
        async with self._lock:
            ticket = await self.services.complaints.ticket(ticket_id)
            if ticket is None or not ticket.card_missing:
                return True
            try:
                await send_card(context, ticket, intro)
            except TelegramError as exc:
                log.warning("the card of %s is not in the staff chat yet: %s", ticket.code, exc)
                return False
        return True

    async def sweep(self) -> bool:
        """Post every card still missing, oldest first; False at the first one Telegram
        did not take (the others wait for the next try)."""
        if self.services.settings.staff_chat_id is None:
            return True
        context = CareContext(self.application)
        for ticket_id in await self.services.complaints.unposted_cards():
            if not await self._post(context, ticket_id, None):
                return False
        return True

    # --- running beside the bot ---------------------------------------------------------

    def start(self) -> None:
        """Look for missing cards now, and from then on (see the module's docstring)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ticket-cards")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        retry = self.first_retry
        while True:
            try:
                done = await self.sweep()
            except Exception:  # the database, most likely: log it and try again later
                log.exception("posting the missing ticket cards failed")
                done = False
            wait = self.interval if done else retry
            retry = self.first_retry if done else min(retry * 2, self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
