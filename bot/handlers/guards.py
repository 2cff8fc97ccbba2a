"""Steps every update passes before the area handlers: the interaction log and flood control.

They run as ``TypeHandler``s in negative groups (see bot/app.py). Flood control stops an
update with ``ApplicationHandlerStop`` so no area handler sees it.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import CareContext
from bot.handlers.common import reply
from care.core.models import Direction

LOG_GROUP = -3
FLOOD_GROUP = -2


class FloodGuard:
    """Counts each user's messages over the last minute; the extra ones are dropped."""

    def __init__(self, per_minute: int, clock: object = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int) -> bool:
        now = self.clock()  # type: ignore[operator]
        seen = self._seen[user_id]
        while seen and now - seen[0] > 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True

    def should_warn(self, user_id: int) -> bool:
        """Warn once per minute of flooding, not once per dropped message."""
        now = self.clock()  # type: ignore[operator]
        if now - self._warned.get(user_id, -1e9) > 60:
            self._warned[user_id] = now
            return True
        return False


def _describe(update: Update) -> tuple[str, str | None]:
    message = update.effective_message
    if update.callback_query is not None:
        return "button", update.callback_query.data
    if message is None:
        return "other", None
    if message.contact is not None:
        return "contact", message.contact.phone_number
    if message.photo:
        return "photo", message.caption
    if message.text and message.text.startswith("/"):
        return "command", message.text
    return "message", message.text or message.caption


async def log_inbound(update: Update, context: CareContext) -> None:
    """Every inbound message is an interaction, whatever handles it afterwards.

    Only a private chat is a customer's own conversation; what is said in a group (the
    staff chat) is internal and joins nobody's customer record.
    """
    user = update.effective_user
    chat = update.effective_chat
    kind, text = _describe(update)
    message = update.message or update.edited_message
    await context.services.interactions.record(
        direction=Direction.INBOUND,
        telegram_user_id=user.id if user else None,
        chat_id=chat.id if chat else None,
        kind=kind,
        text=text,
        message_id=message.message_id if message else None,
        internal=chat is not None and chat.type != "private",
    )


async def flood_control(update: Update, context: CareContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    guard: FloodGuard = context.application.bot_data["flood_guard"]
    if guard.allow(user.id):
        return
    if guard.should_warn(user.id):
        await reply(update, context, "slow_down")
    raise ApplicationHandlerStop


def handlers() -> list[tuple[BaseHandler, int]]:
    return [
        (TypeHandler(Update, log_inbound), LOG_GROUP),
        (TypeHandler(Update, flood_control), FLOOD_GROUP),
    ]
