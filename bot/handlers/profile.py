"""What the business holds about the customer, and the customer's say over it.

/profile shows the record and lets the customer correct their e-mail and birthday, turn
promotions on or off per channel with one tap, and unlink Telegram. /stop (or the words
"huỷ đăng ký", "unsubscribe", "stop") turns every promotion off at once. /mydata sends a
copy of everything held; /forgetme erases the personal data after a confirmation.
"""

from __future__ import annotations

import json

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import CareContext
from bot.handlers.common import (
    answer_callback,
    conversation_handler,
    edit,
    inline,
    label,
    log_outbound,
    message_text,
    render,
    reply,
    reply_bad_birthday,
    user_id,
)
from bot.handlers.linking import ask_to_link
from care.core.models import Direction
from care.core.settings import Settings
from care.core.text import fold
from care.customers import CustomerView, InvalidInput

# Conversation states (persisted as these strings).
EDIT_EMAIL = "profile:email"
EDIT_BIRTHDAY = "profile:birthday"

END = ConversationHandler.END

# Typed on their own, these words mean "no more promotions" (compared folded).
STOP_WORDS = frozenset({"huy dang ky", "unsubscribe", "stop"})


class StopWordsFilter(filters.MessageFilter):
    """A text message that is only a request to unsubscribe, with or without diacritics."""

    def __init__(self) -> None:
        super().__init__(name="StopWords")

    def filter(self, message: Message) -> bool:
        return bool(message.text) and fold(message.text or "") in STOP_WORDS


def _telegram_name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return ""
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


def _markup(update: Update, context: CareContext, customer: CustomerView) -> InlineKeyboardMarkup:
    def consent(channel: str, on: bool) -> tuple[str, str]:
        key = f"consent.{channel}_button_{'on' if on else 'off'}"
        return label(update, context, key), f"consent:{channel}"

    return inline(
        [
            [
                (label(update, context, "profile.email_button"), "profile:email"),
                (label(update, context, "profile.birthday_button"), "profile:birthday"),
            ],
            [consent("telegram", customer.consent_telegram)],
            [consent("email", customer.consent_email)],
            [(label(update, context, "profile.unlink_button"), "profile:unlink")],
        ]
    )


def _values(
    update: Update, context: CareContext, customer: CustomerView, notice: str | None = None
) -> dict[str, object]:
    return {
        "c": customer,
        "notice": notice,
        "language_name": label(update, context, f"profile.language.{customer.language}"),
        "telegram_name": _telegram_name(update),
    }


# --- showing the profile -------------------------------------------------------------------


async def show_profile(update: Update, context: CareContext) -> None:
    customer = context.customer
    if customer is None:
        await ask_to_link(update, context)
        return
    if update.callback_query is not None:
        await answer_callback(update, context)
    await reply(
        update,
        context,
        "profile_show",
        markup=_markup(update, context, customer),
        **_values(update, context, customer),
    )


async def _not_linked(update: Update, context: CareContext) -> int:
    """An old profile button pressed after unlinking or erasure."""
    await answer_callback(update, context, "profile.not_linked", alert=True)
    await edit(update, context, "profile_not_linked")
    return END


async def toggle_consent(update: Update, context: CareContext) -> None:
    """One tap turns a channel's promotions on or off; the profile shows the new state."""
    query = update.callback_query
    assert query is not None and query.data is not None
    channel = query.data.split(":", 1)[1]
    try:
        customer = await context.services.customers.toggle_consent(user_id(update), channel)
    except InvalidInput as problem:
        key = "consent.no_email" if problem.reason == "no_email" else "profile.not_linked"
        await answer_callback(update, context, key, alert=True)
        return
    if customer is None:
        await _not_linked(update, context)
        return
    state = "on" if getattr(customer, f"consent_{channel}") else "off"
    await answer_callback(update, context, f"consent.{channel}_{state}")
    await edit(
        update,
        context,
        "profile_show",
        markup=_markup(update, context, customer),
        **_values(update, context, customer),
    )


# --- editing e-mail and birthday -----------------------------------------------------------


async def ask_email(update: Update, context: CareContext) -> int | str:
    return await _ask(update, context, "profile_ask_email", EDIT_EMAIL)


async def ask_birthday(update: Update, context: CareContext) -> int | str:
    return await _ask(update, context, "profile_ask_birthday", EDIT_BIRTHDAY)


async def _ask(update: Update, context: CareContext, template: str, state: str) -> int | str:
    if context.customer is None:
        return await _not_linked(update, context)
    await answer_callback(update, context)
    await reply(update, context, template)
    return state


async def got_email(update: Update, context: CareContext) -> int | str:
    text = message_text(update)
    try:
        customer = await context.services.customers.set_email(user_id(update), text)
    except InvalidInput:
        await reply(update, context, "profile_invalid_email", text=text)
        return EDIT_EMAIL
    return await _saved(update, context, customer, "profile.email_saved")


async def got_birthday(update: Update, context: CareContext) -> int | str:
    text = message_text(update)
    try:
        customer = await context.services.customers.set_birthday(user_id(update), text)
    except InvalidInput as problem:
        await reply_bad_birthday(update, context, problem, text)
        return EDIT_BIRTHDAY
    return await _saved(update, context, customer, "profile.birthday_saved")


async def _saved(
    update: Update, context: CareContext, customer: CustomerView | None, notice_key: str
) -> int:
    if customer is None:
        await reply(update, context, "profile_not_linked")
        return END
    notice = label(update, context, notice_key)
    await reply(
        update,
        context,
        "profile_show",
        markup=_markup(update, context, customer),
        **_values(update, context, customer, notice),
    )
    return END


async def cancel_edit(update: Update, context: CareContext) -> int:
    await reply(update, context, "profile_cancelled")
    return END


async def edit_timed_out(update: object, context: CareContext) -> None:
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, context, "profile_timeout")


# --- unlinking -----------------------------------------------------------------------------


async def unlink_ask(update: Update, context: CareContext) -> None:
    customer = context.customer
    if customer is None:
        await _not_linked(update, context)
        return
    await answer_callback(update, context)
    markup = inline(
        [
            [
                (label(update, context, "profile.unlink_yes"), "profile:unlink:yes"),
                (label(update, context, "profile.unlink_no"), "profile:unlink:no"),
            ]
        ]
    )
    await edit(update, context, "profile_unlink_confirm", markup=markup, name=customer.name)


async def unlink_yes(update: Update, context: CareContext) -> None:
    customer = await context.services.customers.unlink(user_id(update))
    if customer is None:
        await _not_linked(update, context)
        return
    context.customer = None
    await answer_callback(update, context)
    await edit(update, context, "profile_unlinked", name=customer.name)


async def unlink_no(update: Update, context: CareContext) -> None:
    if context.customer is None:
        await _not_linked(update, context)
        return
    await answer_callback(update, context)
    await edit(update, context, "profile_unlink_kept")


# --- promotions off at once ------------------------------------------------------------------


async def stop(update: Update, context: CareContext) -> None:
    customer = await context.services.customers.stop_all(user_id(update))
    template = "consent_stopped" if customer is not None else "consent_stop_unlinked"
    await reply(update, context, template)


# --- a copy of everything, and erasure ----------------------------------------------------------


async def my_data(update: Update, context: CareContext) -> None:
    """Everything held about the customer, as a UTF-8 JSON document."""
    await context.commit()  # this very request is part of the copy
    data = await context.services.customers.export(user_id(update))
    if data is None:
        await ask_to_link(update, context)
        return
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    filename = f"{label(update, context, 'mydata.filename')}-{data['profile']['code']}.json"
    caption = render(update, context, "mydata_caption")
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(payload, filename=filename, caption=caption, parse_mode=ParseMode.HTML)
    await log_outbound(context, chat.id, user_id(update), f"{caption}\n[{filename}]")


async def forget_ask(update: Update, context: CareContext) -> None:
    if context.customer is None:
        await reply(update, context, "forget_nothing")
        return
    markup = inline(
        [
            [(label(update, context, "forget.yes_button"), "forget:yes")],
            [(label(update, context, "forget.no_button"), "forget:no")],
        ]
    )
    await reply(update, context, "forget_confirm", markup=markup)


async def forget_yes(update: Update, context: CareContext) -> None:
    """Erase, confirm, then drop what the bot remembers about the user and the chat.

    The confirmation joins the erased record's history without the Telegram ids: the
    person is no longer anyone's customer of record.
    """
    person = user_id(update)
    await context.commit()  # what the update logged is erased with the rest
    erased = await context.services.customers.forget(person)
    if erased is None:
        await _nothing_to_forget(update, context)
        return
    context.customer = None
    await answer_callback(update, context)
    query = update.callback_query
    assert query is not None
    done = render(update, context, "forget_done")
    await query.edit_message_text(done, parse_mode=ParseMode.HTML)
    await context.services.interactions.record(
        direction=Direction.OUTBOUND,
        telegram_user_id=None,
        chat_id=None,
        kind="message",
        text=done,
        customer_id=erased.customer_id,
    )
    context.application.drop_user_data(person)
    if update.effective_chat is not None:
        context.application.drop_chat_data(update.effective_chat.id)


async def forget_no(update: Update, context: CareContext) -> None:
    if context.customer is None:
        await _nothing_to_forget(update, context)
        return
    await answer_callback(update, context)
    await edit(update, context, "forget_kept")


async def _nothing_to_forget(update: Update, context: CareContext) -> None:
    """A confirmation pressed twice, or an old one after erasure."""
    await answer_callback(update, context, "forget.nothing", alert=True)
    await edit(update, context, "forget_nothing")


def conversation(settings: Settings) -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    return conversation_handler(
        "profile",
        settings.conversation_timeout_minutes,
        entry_points=[
            CallbackQueryHandler(ask_email, pattern=r"^profile:email$"),
            CallbackQueryHandler(ask_birthday, pattern=r"^profile:birthday$"),
        ],
        states={
            EDIT_EMAIL: [MessageHandler(text, got_email)],
            EDIT_BIRTHDAY: [MessageHandler(text, got_birthday)],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, edit_timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel_edit, filters=private)],
    )


def handlers(settings: Settings) -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        conversation(settings),
        CommandHandler("profile", show_profile, filters=private),
        CallbackQueryHandler(show_profile, pattern=r"^menu:profile$"),
        CallbackQueryHandler(toggle_consent, pattern=r"^consent:(telegram|email)$"),
        CallbackQueryHandler(unlink_ask, pattern=r"^profile:unlink$"),
        CallbackQueryHandler(unlink_yes, pattern=r"^profile:unlink:yes$"),
        CallbackQueryHandler(unlink_no, pattern=r"^profile:unlink:no$"),
        CommandHandler("stop", stop, filters=private),
        MessageHandler(filters.TEXT & ~filters.COMMAND & private & StopWordsFilter(), stop),
        CommandHandler("mydata", my_data, filters=private),
        CommandHandler("forgetme", forget_ask, filters=private),
        CallbackQueryHandler(forget_yes, pattern=r"^forget:yes$"),
        CallbackQueryHandler(forget_no, pattern=r"^forget:no$"),
    ]
