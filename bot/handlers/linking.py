"""Linking a Telegram account to a customer record: own contact, registration, one-time code.

Sharing one's own phone contact links at once when the number is on file. Otherwise the
customer registers (name, then optional e-mail and birthday) or proves an existing record
with its customer code and a one-time code e-mailed to the address on file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
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
    language,
    message_text,
    reply,
    reply_bad_birthday,
    user_id,
)
from care.core.settings import Settings
from care.customers import (
    CodeOutcome,
    CodeRequest,
    CustomerView,
    InvalidInput,
    LinkOutcome,
    LinkResult,
    parse_birthday,
    parse_email,
    parse_name,
)

# Conversation states (persisted as these strings).
CHOOSING = "link:choosing"
REG_NAME = "link:name"
REG_EMAIL = "link:email"
REG_BIRTHDAY = "link:birthday"
CODE_CUSTOMER = "link:customer_code"
CODE_ENTER = "link:code"

END = ConversationHandler.END
DRAFT = "link"  # user_data key of the registration under way (JSON-friendly values)


def share_contact_keyboard(
    update: Update, context: CareContext, key: str = "link.share_button"
) -> ReplyKeyboardMarkup:
    """The reply keyboard whose one button (labelled ``key``) shares the user's own phone
    number."""
    button = KeyboardButton(label(update, context, key), request_contact=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


async def ask_to_link(update: Update, context: CareContext, template: str = "link_need") -> None:
    """Tell an unlinked user to link first, with the share-contact button (for every area)."""
    if update.callback_query is not None:
        await answer_callback(update, context)
    await reply(update, context, template, markup=share_contact_keyboard(update, context))


def _draft(context: CareContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _done(context: CareContext) -> int:
    context.user_data.pop(DRAFT, None)
    return END


async def _already(update: Update, context: CareContext, customer: CustomerView | None) -> int:
    assert customer is not None
    await reply(
        update,
        context,
        "link_already",
        markup=ReplyKeyboardRemove(),
        name=customer.name,
        code=customer.code,
    )
    return _done(context)


# --- entry: /link and the shared contact --------------------------------------------------


async def start_linking(update: Update, context: CareContext) -> int:
    customer = context.customer
    if customer is not None:
        return await _already(update, context, customer)
    await ask_to_link(update, context, "link_prompt")
    return _done(context)


async def contact_shared(update: Update, context: CareContext) -> int:
    """Only the sender's own contact counts: a forwarded card proves nothing."""
    message = update.effective_message
    assert message is not None and message.contact is not None
    if message.contact.user_id != user_id(update):
        await reply(update, context, "link_not_own", markup=share_contact_keyboard(update, context))
        return _done(context)
    await context.commit()  # linking adopts the messages written before it
    result = await context.services.customers.link_by_phone(
        user_id(update), message.contact.phone_number
    )
    if result.outcome == LinkOutcome.NO_MATCH:
        context.user_data[DRAFT] = {"phone": result.phone}
        markup = inline(
            [
                [(label(update, context, "link.register_button"), "link:register")],
                [(label(update, context, "link.code_button"), "link:code")],
                [(label(update, context, "link.cancel_button"), "link:cancel")],
            ]
        )
        await reply(update, context, "link_no_match", markup=markup, phone=result.phone)
        return CHOOSING
    return await _finish(update, context, result)


async def _finish(update: Update, context: CareContext, result: LinkResult) -> int:
    """Tell the outcome of a link or registration attempt and end the conversation."""
    if result.outcome == LinkOutcome.LINKED:
        context.customer = result.customer
    if result.outcome == LinkOutcome.ALREADY:
        return await _already(update, context, result.customer)
    if result.outcome == LinkOutcome.INVALID_PHONE:
        await reply(
            update, context, "link_invalid_phone", markup=share_contact_keyboard(update, context)
        )
        return _done(context)
    if result.outcome == LinkOutcome.TAKEN:
        await reply(update, context, "link_taken", markup=ReplyKeyboardRemove())
        return _done(context)
    customer = result.customer
    assert customer is not None
    registered = _draft(context).get("name") is not None
    await reply(
        update,
        context,
        "link_registered" if registered else "link_done",
        markup=ReplyKeyboardRemove(),
        name=customer.name,
        code=customer.code,
    )
    return _done(context)


# --- no match: register, or a customer code ----------------------------------------------


async def choose_register(update: Update, context: CareContext) -> int:
    await answer_callback(update, context)
    if not _draft(context).get("phone"):
        await edit(update, context, "link_expired")
        return _done(context)
    await edit(update, context, "link_ask_name")
    return REG_NAME


async def choose_code(update: Update, context: CareContext) -> int:
    await answer_callback(update, context)
    await edit(update, context, "link_ask_customer_code")
    return CODE_CUSTOMER


async def cancel_button(update: Update, context: CareContext) -> int:
    await answer_callback(update, context)
    await edit(update, context, "link_cancelled")
    return _done(context)


async def got_name(update: Update, context: CareContext) -> str:
    try:
        name = parse_name(message_text(update))
    except InvalidInput:
        await reply(update, context, "link_bad_name")
        return REG_NAME
    _draft(context)["name"] = name
    await reply(update, context, "link_ask_email")
    return REG_EMAIL


async def got_email(update: Update, context: CareContext) -> str:
    text = message_text(update)
    try:
        _draft(context)["email"] = parse_email(text)
    except InvalidInput:
        await reply(update, context, "profile_invalid_email", text=text)
        return REG_EMAIL
    await reply(update, context, "link_ask_birthday")
    return REG_BIRTHDAY


async def skip_email(update: Update, context: CareContext) -> str:
    _draft(context)["email"] = None
    await reply(update, context, "link_ask_birthday")
    return REG_BIRTHDAY


async def got_birthday(update: Update, context: CareContext) -> int | str:
    text = message_text(update)
    try:
        birthday = parse_birthday(text, context.services.customers.today())
    except InvalidInput as problem:
        await reply_bad_birthday(update, context, problem, text)
        return REG_BIRTHDAY
    _draft(context)["birthday"] = birthday.isoformat()
    return await _register(update, context)


async def skip_birthday(update: Update, context: CareContext) -> int:
    _draft(context)["birthday"] = None
    return await _register(update, context)


async def _register(update: Update, context: CareContext) -> int:
    draft = _draft(context)
    if not draft.get("phone") or not draft.get("name"):
        await reply(update, context, "link_expired")
        return _done(context)
    birthday = draft.get("birthday")
    await context.commit()  # registering adopts the messages written before it
    result = await context.services.customers.register(
        user_id(update),
        name=draft["name"],
        phone=draft["phone"],
        email=draft.get("email"),
        birthday=date.fromisoformat(birthday) if birthday else None,
        language=language(update, context),
    )
    return await _finish(update, context, result)


async def got_customer_code(update: Update, context: CareContext) -> int | str:
    outcome = await context.services.customers.request_link_code(
        user_id(update), message_text(update)
    )
    if outcome == CodeRequest.SENT:
        minutes = context.services.settings.link_code_ttl_minutes
        await reply(update, context, "link_code_sent", minutes=minutes)
        return CODE_ENTER
    if outcome == CodeRequest.UNAVAILABLE:
        await reply(update, context, "link_code_unavailable")
        return CODE_CUSTOMER
    if outcome == CodeRequest.TOO_MANY:
        await reply(update, context, "link_code_too_many")
        return _done(context)
    if outcome == CodeRequest.CUSTOMER_LIMIT:
        limit = context.services.settings.link_code_emails_per_day
        await reply(update, context, "link_code_customer_limit", limit=limit)
        return _done(context)
    customer = context.customer
    return await _already(update, context, customer)


# What to say when a typed one-time code does not link, and which step comes next.
_CODE_REPLIES: dict[CodeOutcome, tuple[str, int | str]] = {
    CodeOutcome.WRONG: ("link_code_wrong", CODE_ENTER),
    CodeOutcome.MALFORMED: ("link_code_malformed", CODE_ENTER),
    CodeOutcome.EXPIRED: ("link_code_expired", CODE_CUSTOMER),
    CodeOutcome.EXHAUSTED: ("link_code_exhausted", CODE_CUSTOMER),
    CodeOutcome.NO_CODE: ("link_code_none", CODE_CUSTOMER),
    CodeOutcome.TAKEN: ("link_code_taken", END),
}


async def got_code(update: Update, context: CareContext) -> int | str:
    await context.commit()  # linking adopts the messages written before it
    result = await context.services.customers.verify_link_code(
        user_id(update), message_text(update)
    )
    if result.outcome == CodeOutcome.LINKED:
        return await _finish(update, context, LinkResult(LinkOutcome.LINKED, result.customer))
    if result.outcome in _CODE_REPLIES:
        template, step = _CODE_REPLIES[result.outcome]
        await reply(update, context, template, tries_left=result.tries_left)
        return _done(context) if step == END else step
    customer = context.customer
    return await _already(update, context, customer)


# --- leaving -------------------------------------------------------------------------------


async def cancel(update: Update, context: CareContext) -> int:
    await reply(update, context, "link_cancelled", markup=ReplyKeyboardRemove())
    return _done(context)


async def timed_out(update: object, context: CareContext) -> None:
    context.user_data.pop(DRAFT, None)
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, context, "link_timeout", markup=ReplyKeyboardRemove())


async def stale_button(update: Update, context: CareContext) -> None:
    """A linking button from a conversation that has ended (timed out, finished, restarted)."""
    await answer_callback(update, context)
    await edit(update, context, "link_expired")


def conversation(settings: Settings) -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    return conversation_handler(
        "linking",
        settings.conversation_timeout_minutes,
        entry_points=[
            CommandHandler("link", start_linking, filters=private),
            MessageHandler(filters.CONTACT & private, contact_shared),
        ],
        states={
            CHOOSING: [
                CallbackQueryHandler(choose_register, pattern=r"^link:register$"),
                CallbackQueryHandler(choose_code, pattern=r"^link:code$"),
                CallbackQueryHandler(cancel_button, pattern=r"^link:cancel$"),
            ],
            REG_NAME: [MessageHandler(text, got_name)],
            REG_EMAIL: [
                CommandHandler("skip", skip_email, filters=private),
                MessageHandler(text, got_email),
            ],
            REG_BIRTHDAY: [
                CommandHandler("skip", skip_birthday, filters=private),
                MessageHandler(text, got_birthday),
            ],
            CODE_CUSTOMER: [MessageHandler(text, got_customer_code)],
            CODE_ENTER: [MessageHandler(text, got_code)],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=private)],
    )


def handlers(settings: Settings) -> list[BaseHandler]:
    return [
        conversation(settings),
        CallbackQueryHandler(stale_button, pattern=r"^link:"),
    ]
