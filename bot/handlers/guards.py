"""Steps every update passes before the area handlers: flood control, then who wrote and
the interaction log.

They run as ``TypeHandler``s in negative groups (see bot/app.py). Flood control comes
first and writes nothing: it stops a flooding user's extra updates with
``ApplicationHandlerStop`` before anything is looked up or logged. Then the customer behind
the update is looked up, once for the whole update (``context.customer``), and the
inbound message is logged in the update's unit of work, to be stored with the rest of
what the update does.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import CareContext
from bot.handlers.common import render
from care.core.models import Direction
from care.customers import Sender

FLOOD_GROUP = -3
LOG_GROUP = -2


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
    """Every inbound message is an interaction, whatever handles it afterwards; the sender's
    customer record is looked up here, once, for every handler of the update.

    Only a private chat is a customer's own conversation; what is said in a group (the
    staff chat) is internal and joins nobody's customer record.
    """
    user = update.effective_user
    chat = update.effective_chat
    services = context.services
    work = context.work
    sender = await services.customers.sender(user.id, uow=work) if user else Sender(None)
    context.identify(sender)
    customer = sender.customer
    kind, text = _describe(update)
    message = update.message or update.edited_message
    internal = chat is not None and chat.type != "private"
    values = {
        "direction": Direction.INBOUND,
        "telegram_user_id": user.id if user else None,
        "chat_id": chat.id if chat else None,
        "kind": kind,
        "text": text,
        "customer_id": customer.id if customer and not internal else None,
        "message_id": message.message_id if message else None,
        "internal": internal,
    }
    if work is None:
        await services.interactions.record(**values)
    else:
        context.inbound_entry = services.interactions.add(work, **values)


async def flood_control(update: Update, context: CareContext) -> None:
    """Drop a flooding user's extra updates; warn them once a minute. Nothing is written:
    neither the dropped messages nor the warning go to the database."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    guard: FloodGuard = context.application.bot_data["flood_guard"]
    if guard.allow(user.id):
        return
    if guard.should_warn(user.id):
        await chat.send_message(render(update, context, "slow_down"), parse_mode=ParseMode.HTML)
    raise ApplicationHandlerStop


def handlers() -> list[tuple[BaseHandler, int]]:
    return [
        (TypeHandler(Update, flood_control), FLOOD_GROUP),
        (TypeHandler(Update, log_inbound), LOG_GROUP),
    ]
