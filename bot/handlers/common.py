"""What every handler does the same way: pick the language, render, reply, log.

Handlers stay thin: parse the update, call a care service, then ``reply`` with a
template name. Replies are logged as outbound interactions here, once for all, in the
update's unit of work: ``reply`` and ``edit`` answer the person who wrote, so they store
the update's work (the log entry of the answer included) just before the answer goes out;
what is sent elsewhere (``send``: the staff chat, another customer) is stored with the rest
of the update. A message that fails to go out takes its log entry back.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ConversationHandler
from telegram.warnings import PTBUserWarning

from bot.context import CareContext
from bot.html_pages import send_html, shorten_html
from care.core.models import Direction
from care.customers import InvalidInput

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
T = TypeVar("T")


def user_id(update: Update) -> int:
    """The Telegram id of the person behind the update (every handled update has one)."""
    user = update.effective_user
    assert user is not None
    return user.id


def message_text(update: Update) -> str:
    """The text of the update's message, "" when it has none."""
    message = update.effective_message
    return (message.text or "") if message else ""


def language(update: Update, context: CareContext) -> str:
    user = update.effective_user
    return context.language(user.language_code if user else None)


def label(update: Update, context: CareContext, key: str, /, **values: Any) -> str:
    """A short string (button, prompt) in the reader's language."""
    return context.services.renderer.label(language(update, context), key, **values)


def render(update: Update, context: CareContext, template: str, /, **values: Any) -> str:
    return context.services.renderer.chat(language(update, context), template, **values)


def inline(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def inline_grid(buttons: Sequence[tuple[str, str]], per_row: int = 2) -> InlineKeyboardMarkup:
    """An inline keyboard of (label, callback data) buttons, ``per_row`` to a row."""
    return inline([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


async def reply(
    update: Update,
    context: CareContext,
    template: str,
    /,
    *,
    markup: Markup = None,
    **values: Any,
) -> Message:
    """Answer in the chat the update came from, with a rendered template (in several
    messages if it is longer than Telegram takes; the last one is returned)."""
    text = render(update, context, template, **values)
    chat = update.effective_chat
    assert chat is not None
    user = update.effective_user
    return await logged(
        context,
        lambda: send_html(context.bot, chat.id, text, reply_markup=markup),
        chat.id,
        user.id if user else None,
        text,
        store_first=True,
    )


async def refuse_too_long(
    update: Update, context: CareContext, text: str | None, template: str
) -> bool:
    """True, after saying so with ``template``, when a typed text is longer than the bot
    takes (``max_text_length``)."""
    limit = context.services.settings.max_text_length
    if not text or len(text) <= limit:
        return False
    await reply(update, context, template, length=len(text), limit=limit)
    return True


async def reply_bad_birthday(
    update: Update, context: CareContext, problem: InvalidInput, text: str
) -> None:
    """Why a typed birthday was refused: a day in the future, or not a date at all."""
    future = problem.reason == "birthday_future"
    template = "profile_future_birthday" if future else "profile_invalid_birthday"
    await reply(update, context, template, text=text)


async def edit(
    update: Update,
    context: CareContext,
    template: str,
    /,
    *,
    markup: InlineKeyboardMarkup | None = None,
    **values: Any,
) -> None:
    """Replace the message whose button was pressed (a menu step), or reply if it is gone.
    An edit is one message: a text longer than Telegram takes is shortened."""
    query = update.callback_query
    text = shorten_html(render(update, context, template, **values))
    if query is None or query.message is None:
        await reply(update, context, template, markup=markup, **values)
        return

    async def edited() -> None:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    await logged(context, edited, query.message.chat.id, query.from_user.id, text, store_first=True)


async def send(
    context: CareContext,
    chat_id: int,
    text: str,
    *,
    markup: Markup = None,
    customer_id: int | None = None,
    reply_to: int | None = None,
    internal: bool = False,
) -> Message:
    """Send already-rendered HTML to any chat (the staff chat, another customer); a long
    text goes in pages, the buttons under the last, which is returned.

    ``customer_id`` names the customer the message is to or about (a ticket's card in the
    staff chat), so that erasing them reaches it; ``internal`` marks staff work in a
    private chat (a group is always internal).
    """
    return await logged(
        context,
        lambda: send_html(context.bot, chat_id, text, reply_markup=markup, reply_to=reply_to),
        chat_id,
        None,
        text,
        customer_id=customer_id,
        internal=internal,
    )


async def logged(
    context: CareContext,
    sending: Callable[[], Awaitable[T]],
    chat_id: int,
    telegram_user_id: int | None,
    text: str,
    *,
    customer_id: int | None = None,
    internal: bool = False,
    store_first: bool = False,
) -> T:
    """Send (``sending``) a message logged as outbound in the update's unit of work;
    ``store_first`` stores the update's work, this entry included, before it goes out.
    Otherwise the entry, still waiting for the commit, learns the sent message's id, so
    that erasing a customer can find the staff-chat messages about them.

    Outside an update (a conversation's timeout) it is logged once sent, on its own.
    """
    work = context.work
    if work is None:
        result = await sending()
        await log_outbound(
            context,
            chat_id,
            telegram_user_id,
            text,
            customer_id=customer_id,
            message_id=getattr(result, "message_id", None),
            internal=internal,
        )
        return result
    entry = context.services.interactions.add(
        work,
        **await _outbound(context, chat_id, telegram_user_id, text, customer_id, internal),
    )
    if store_first:
        await context.commit()
    try:
        result = await sending()
    except BaseException:
        context.services.interactions.withdraw(work, entry)
        raise
    if not store_first:
        entry["message_id"] = getattr(result, "message_id", None)
    return result


async def log_outbound(
    context: CareContext,
    chat_id: int,
    telegram_user_id: int | None,
    text: str,
    *,
    customer_id: int | None = None,
    message_id: int | None = None,
    internal: bool = False,
) -> None:
    """Log a message the bot has sent (stored with the update's work, if in one). One to a
    group (the staff chat: Telegram gives groups negative ids) is internal: it may concern a
    customer but is not their own record."""
    values = await _outbound(context, chat_id, telegram_user_id, text, customer_id, internal)
    values["message_id"] = message_id
    work = context.work
    if work is None:
        await context.services.interactions.record(**values)
    else:
        context.services.interactions.add(work, **values)


async def _outbound(
    context: CareContext,
    chat_id: int,
    telegram_user_id: int | None,
    text: str,
    customer_id: int | None,
    internal: bool = False,
) -> dict[str, Any]:
    """The log entry of a message to ``chat_id``: a private chat is the person's own, and
    tied to their customer record unless it is staff work."""
    internal = internal or chat_id < 0
    person = telegram_user_id if chat_id > 0 else None
    if customer_id is None and person is not None and not internal and context.work is not None:
        customer_id = await context.customer_id_of(person)
    return {
        "direction": Direction.OUTBOUND,
        "telegram_user_id": person,
        "chat_id": chat_id,
        "kind": "message",
        "text": text,
        "customer_id": customer_id,
        "internal": internal,
    }


async def answer_callback(
    update: Update,
    context: CareContext,
    key: str | None = None,
    *,
    alert: bool = False,
    **values: Any,
) -> None:
    """Acknowledge a button press, optionally with a short notice in the reader's language."""
    query = update.callback_query
    if query is None:
        return
    text = label(update, context, key, **values) if key else None
    await query.answer(text, show_alert=alert)


def conversation_handler(
    name: str, timeout_minutes: float | None, **kwargs: Any
) -> ConversationHandler:
    """A conversation as every area here keeps one: persistent (it survives a restart of
    the bot), started again by its entry points at any step, closed after
    ``timeout_minutes`` without an answer, and with buttons on any message of the chat.

    PTB warns that with ``per_message=False`` a conversation is tracked per user and
    chat, not per message: exactly what these conversations want, so the warning is
    silenced here and nowhere else.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            name=name,
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout_minutes * 60 if timeout_minutes else None,
            **kwargs,
        )
