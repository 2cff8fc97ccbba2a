"""Complaints in Telegram: the intake conversation, tickets posted to the staff chat, and
the customer's messages relayed to their open ticket.

The intake asks, one step at a time: the category (buttons), which of the customer's own
recent orders it concerns (buttons, skipped when they have none), a description (text, or
a photo with or without caption), and the severity (buttons). The steps edit one message
where they can, so old buttons disappear; a stale button still pressed gets a clear
answer. The draft lives in ``user_data`` as plain JSON and the conversation is persistent,
so a restart of the bot in the middle of an intake loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
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
    inline_grid,
    label,
    language,
    log_outbound,
    refuse_too_long,
    reply,
    send,
    user_id,
)
from bot.handlers.linking import share_contact_keyboard
from bot.html_pages import send_photo_html, shorten_html
from care.core.models import ComplaintStatus
from care.core.settings import Settings
from care.core.text import format_date, format_vnd
from care.tickets import (
    CATEGORIES,
    CODE_TEMPLATE,
    SEVERITIES,
    ComplaintError,
    Draft,
    NotLinked,
    Relay,
    Ticket,
    tier_or_default,
)

if TYPE_CHECKING:
    from bot.ticket_cards import TicketCards

log = logging.getLogger("carebot.bot")

# Conversation states (stored as JSON by the persistence: plain strings).
CATEGORY, ORDER, DESCRIPTION, SEVERITY = "category", "order", "description", "severity"
DRAFT = "complaint_draft"  # the user_data key of the form being filled in
END = ConversationHandler.END

Callback = Callable[[Update, CareContext], Awaitable[None]]
PRIVATE = filters.ChatType.PRIVATE
CONTENT = (filters.TEXT & ~filters.COMMAND) | filters.PHOTO


# --- the staff chat: cards and notes ---------------------------------------------------------


def staff_language(context: CareContext) -> str:
    """The staff chat is one room: it reads the shop's default language."""
    return context.services.settings.default_language


def staff_label(context: CareContext, key: str, /, **values: Any) -> str:
    return context.services.renderer.label(staff_language(context), key, **values)


def label_or(context: CareContext, key: str, fallback: str) -> str:
    """A label in the staff chat's language, or the raw value for words without one."""
    return context.services.renderer.label_or(staff_language(context), key, fallback)


def tier_label(context: CareContext, tier: str | None) -> str:
    """A tier's name in the staff chat's language (a tier the shop named itself as is)."""
    tier = tier or tier_or_default(context.services.settings, None)
    return label_or(context, f"segmentation.tier.{tier}", tier)


def card_html(context: CareContext, ticket: Ticket, intro: str | None = None) -> str:
    """A ticket's card for the staff chat; ``intro`` is a note above it, HTML rendered by
    the Renderer (its values escaped there, so it is not escaped again)."""
    lang = staff_language(context)
    renderer = context.services.renderer
    policies = context.services.policies
    return renderer.chat(
        lang,
        "ticket_card",
        t=ticket,
        intro=Markup(intro) if intro else None,  # noqa: S704 - rendered by the Renderer, values escaped there
        category=renderer.label(lang, f"complaint.category.{ticket.category}"),
        severity=renderer.label(lang, f"complaint.severity.{ticket.severity}"),
        status=renderer.label(lang, f"complaint.status.{ticket.status}"),
        tier=tier_label(context, ticket.tier),
        policies=[
            policies.label(p.policy, lang) + (f" ({format_vnd(p.value)})" if p.value else "")
            for p in ticket.policies
        ],
        suggested=[s.label for s in policies.suggest(ticket.tier, ticket.segment, lang)],
    )


def card_markup(context: CareContext, ticket: Ticket) -> InlineKeyboardMarkup:
    """Claim while nobody holds it, Resolve while open, Details always."""
    buttons = []
    if ticket.status == ComplaintStatus.OPEN:
        buttons.append((staff_label(context, "ticket.button.claim"), f"ticket:claim:{ticket.id}"))
    if ticket.status != ComplaintStatus.RESOLVED:
        buttons.append(
            (staff_label(context, "ticket.button.resolve"), f"ticket:resolve:{ticket.id}")
        )
    buttons.append((staff_label(context, "ticket.button.details"), f"ticket:details:{ticket.id}"))
    return inline([buttons])


async def post_card(context: CareContext, ticket: Ticket, intro: str | None = None) -> bool:
    """Post a ticket's card (and its photo, replying to it) to the staff chat, unless it is
    there already; False if Telegram did not take it now: it is posted later, until it is
    (``bot.ticket_cards``)."""
    cards: TicketCards = context.application.bot_data["ticket_cards"]
    return await cards.post(context, ticket.id, intro)


async def send_card(context: CareContext, ticket: Ticket, intro: str | None = None) -> None:
    """Send what the staff chat lacks of a ticket's card: the card (shortened to one
    message, so it can be edited later), then the photo under it; remember where each
    went. Raises TelegramError if Telegram does not take them."""
    chat = context.services.settings.staff_chat_id
    assert chat is not None
    card_id = ticket.staff_card_message_id
    if card_id is None:
        html = shorten_html(card_html(context, ticket, intro))
        card = await send(
            context,
            chat,
            html,
            markup=card_markup(context, ticket),
            customer_id=ticket.customer_id,
        )
        card_id = card.message_id
    photo_id, failure = None, None
    if ticket.photo_file_id and ticket.staff_photo_message_id is None:
        try:
            photo = await send_photo_html(
                context.bot,
                chat,
                ticket.photo_file_id,
                staff_label(context, "ticket.photo_caption", code=ticket.code),
                reply_to=card_id,
            )
            photo_id = photo.message_id
        except TelegramError as exc:  # the card is there: remember it, the photo follows
            failure = exc
    await context.services.complaints.mark_posted(ticket.id, chat, card_id, photo_id)
    if failure is not None:
        raise failure


async def refresh_card(context: CareContext, ticket: Ticket) -> None:
    """Show a ticket's new status and buttons on its card."""
    if ticket.staff_chat_id is None or ticket.staff_card_message_id is None:
        return
    try:
        await context.bot.edit_message_text(
            shorten_html(card_html(context, ticket)),
            chat_id=ticket.staff_chat_id,
            message_id=ticket.staff_card_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=card_markup(context, ticket),
        )
    except BadRequest as exc:  # unchanged, or the card was deleted: nothing to show
        log.info("card of %s not refreshed: %s", ticket.code, exc)


async def post_under_card(
    context: CareContext, ticket: Ticket, template: str, /, **values: Any
) -> Message | None:
    """A note about a ticket in the staff chat, as a reply to its card when it has one."""
    chat = ticket.staff_chat_id or context.services.settings.staff_chat_id
    if chat is None:
        return None
    html = context.services.renderer.chat(staff_language(context), template, **values)
    about = ticket.customer_id
    try:
        return await send(
            context, chat, html, reply_to=ticket.staff_card_message_id, customer_id=about
        )
    except BadRequest:  # the card is gone: say it without the reply
        return await send(context, chat, html, customer_id=about)


async def tell_customer(
    context: CareContext,
    ticket: Ticket,
    template: str,
    /,
    markup: InlineKeyboardMarkup | None = None,
    photo: str | None = None,
    **values: Any,
) -> bool:
    """Write to the customer of a ticket in their language (with ``photo``, as its caption);
    False if they cannot be reached (the staff chat is then told to call them)."""
    telegram_id = ticket.customer_telegram_id
    if telegram_id is not None:
        html = context.services.renderer.chat(ticket.customer_language, template, **values)
        try:
            if photo is None:
                await send(
                    context, telegram_id, html, markup=markup, customer_id=ticket.customer_id
                )
            else:
                await send_photo_html(context.bot, telegram_id, photo, html, reply_markup=markup)
                await log_outbound(context, telegram_id, None, html, customer_id=ticket.customer_id)
            return True
        except Forbidden:
            log.info("customer %s cannot be reached on Telegram", ticket.customer_code)
    await post_under_card(
        context,
        ticket,
        "ticket_unreachable",
        customer=ticket.customer_name,
        code=ticket.code,
        phone=ticket.customer_phone,
    )
    return False


# --- the intake conversation ---------------------------------------------------------------


def _draft(context: CareContext, *needed: str) -> dict[str, Any] | None:
    """The form being filled in, if it holds what this step needs."""
    draft = (context.user_data or {}).get(DRAFT)
    if not isinstance(draft, dict) or any(key not in draft for key in ("customer_id", *needed)):
        return None
    return draft


async def _lost(update: Update, context: CareContext) -> int:
    """The conversation's state outlived its form (data cleared meanwhile): start over."""
    if update.callback_query is not None:
        await answer_callback(update, context)
    await reply(update, context, "complaint_lost")
    return END


async def begin(update: Update, context: CareContext) -> str | int:
    """/complaint or the menu button: linked customers start the form, others link first."""
    if update.callback_query is not None:
        await answer_callback(update, context)
    requester = await context.services.complaints.requester(user_id(update))
    if requester is None:
        await reply(
            update,
            context,
            "complaint_link_first",
            markup=share_contact_keyboard(update, context, "complaint.share_contact"),
            shop=context.services.settings.shop_name,
        )
        return END
    context.user_data[DRAFT] = {"customer_id": requester.customer_id}  # type: ignore[index]
    markup = _choices(update, context, "category", "cat", CATEGORIES)
    await reply(update, context, "complaint_category", markup=markup)
    return CATEGORY


def _choices(
    update: Update, context: CareContext, name: str, data: str, values: tuple[str, ...]
) -> InlineKeyboardMarkup:
    """The buttons of one step of the form, two to a row: ``complaint.<name>.<value>``
    labels, ``complaint:<data>:<value>`` callback data."""
    return inline_grid(
        [(label(update, context, f"complaint.{name}.{v}"), f"complaint:{data}:{v}") for v in values]
    )


def _pressed(update: Update) -> str:
    """What a form button chose: the last part of its callback data."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return query.data.rsplit(":", 1)[1]


async def choose_category(update: Update, context: CareContext) -> str | int | None:
    category = _pressed(update)
    if category not in CATEGORIES:
        await answer_callback(update, context, "complaint.stale")
        return None
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    draft["category"] = category
    await answer_callback(update, context)
    orders = await context.services.complaints.recent_orders(draft["customer_id"])
    category_label = label(update, context, f"complaint.category.{category}")
    if not orders:
        await edit(
            update, context, "complaint_description", category=category_label, order_code=None
        )
        return DESCRIPTION
    rows = [
        [
            (
                label(
                    update,
                    context,
                    "complaint.order_button",
                    code=o.code,
                    placed=format_date(o.placed_at, context.services.settings.timezone),
                    amount=format_vnd(o.amount),
                ),
                f"complaint:order:{o.id}",
            )
        ]
        for o in orders
    ]
    rows.append([(label(update, context, "complaint.no_order"), "complaint:order:none")])
    await edit(update, context, "complaint_order", markup=inline(rows), category=category_label)
    return ORDER


async def choose_order(update: Update, context: CareContext) -> str | int | None:
    draft = _draft(context, "category")
    if draft is None:
        return await _lost(update, context)
    choice = _pressed(update)
    order_code = None
    if choice == "none":
        draft["order_id"] = None
    else:
        order = (
            await context.services.complaints.own_order(draft["customer_id"], int(choice))
            if choice.isdigit()
            else None
        )
        if order is None:
            await answer_callback(update, context, "complaint.unknown_order", alert=True)
            return None
        draft["order_id"], order_code = order.id, order.code
    draft["order_code"] = order_code
    await answer_callback(update, context)
    await edit(
        update,
        context,
        "complaint_description",
        category=label(update, context, f"complaint.category.{draft['category']}"),
        order_code=order_code,
    )
    return DESCRIPTION


async def describe(update: Update, context: CareContext) -> str | int | None:
    """A text, or a photo with or without caption: either one describes the problem."""
    text, photo = _content(update)
    if await refuse_too_long(update, context, text, "complaint_too_long"):
        return None
    draft = _draft(context, "category")
    if draft is None:
        return await _lost(update, context)
    draft["description"] = text
    draft["photo_file_id"] = photo
    markup = _choices(update, context, "severity", "sev", SEVERITIES)
    await reply(update, context, "complaint_severity", markup=markup)
    return SEVERITY


def _content(update: Update) -> tuple[str | None, str | None]:
    """What a customer's message says: its text (or caption) and its photo's file id."""
    message = update.effective_message
    assert message is not None
    return message.text or message.caption, message.photo[-1].file_id if message.photo else None


async def choose_severity(update: Update, context: CareContext) -> str | int | None:
    """The last step: file the ticket, tell the customer what happens next, alert staff."""
    severity = _pressed(update)
    if severity not in SEVERITIES:
        await answer_callback(update, context, "complaint.stale")
        return None
    draft = _draft(context, "category")
    if draft is None:
        return await _lost(update, context)
    await answer_callback(update, context)
    services = context.services
    try:
        ticket = await services.complaints.file(
            user_id(update),
            Draft(
                category=draft["category"],
                severity=severity,
                description=draft.get("description"),
                photo_file_id=draft.get("photo_file_id"),
                order_id=draft.get("order_id"),
            ),
        )
    except NotLinked:
        context.user_data.pop(DRAFT, None)  # type: ignore[union-attr]
        await edit(update, context, "complaint_link_first", shop=services.settings.shop_name)
        return END
    except ComplaintError:
        context.user_data.pop(DRAFT, None)  # type: ignore[union-attr]
        await edit(
            update,
            context,
            "complaint_failed",
            reason=label(update, context, "complaint.unknown_order"),
        )
        return END
    context.user_data.pop(DRAFT, None)  # type: ignore[union-attr]
    # The ticket is filed: whatever Telegram does now, the form ends here (left open, it
    # would take the customer's next messages for form input, not for staff). The code
    # waits in the outbox too, and the card is posted later if it cannot be now.
    values = services.complaints.filed_values(ticket, language(update, context))
    try:
        await edit(update, context, CODE_TEMPLATE, **values)
        shown = True
    except TelegramError as exc:
        log.warning("%s is filed; its code goes through the outbox: %s", ticket.code, exc)
        shown = False
    await services.complaints.code_shown(ticket.id, shown)
    await post_card(context, ticket)
    return END


async def cancel(update: Update, context: CareContext) -> int:
    context.user_data.pop(DRAFT, None)  # type: ignore[union-attr]
    await reply(update, context, "complaint_cancelled")
    return END


async def stale_button(update: Update, context: CareContext) -> None:
    """A button of a step already done (an older message): say so, change nothing."""
    await answer_callback(update, context, "complaint.stale")


async def use_buttons(update: Update, context: CareContext) -> None:
    await reply(update, context, "complaint_use_buttons")


async def need_description(update: Update, context: CareContext) -> None:
    await reply(update, context, "complaint_need_description")


async def timed_out(update: object, context: CareContext) -> None:
    """The form waited too long: close it and say so, so nobody waits for an answer."""
    context.user_data.pop(DRAFT, None)  # type: ignore[union-attr]
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, context, "complaint_timeout")


async def closed_form(update: Update, context: CareContext) -> None:
    """A button of a form that is no longer open (filed, cancelled or timed out)."""
    await answer_callback(update, context, "complaint.closed")


def intake(conversation_timeout_minutes: float | None = None) -> ConversationHandler:
    """The intake conversation (persistent: it survives a restart of the bot)."""
    buttons_only = MessageHandler(PRIVATE & ~filters.COMMAND, use_buttons)
    return conversation_handler(
        "complaint",
        conversation_timeout_minutes,
        entry_points=[
            CommandHandler("complaint", begin, filters=PRIVATE),
            CallbackQueryHandler(begin, pattern=r"^menu:complaint$"),
        ],
        states={
            CATEGORY: [
                CallbackQueryHandler(choose_category, pattern=r"^complaint:cat:"),
                buttons_only,
            ],
            ORDER: [CallbackQueryHandler(choose_order, pattern=r"^complaint:order:"), buttons_only],
            DESCRIPTION: [
                MessageHandler(PRIVATE & CONTENT, describe),
                MessageHandler(PRIVATE & ~filters.COMMAND, need_description),
            ],
            SEVERITY: [
                CallbackQueryHandler(choose_severity, pattern=r"^complaint:sev:"),
                buttons_only,
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel, filters=PRIVATE),
            CallbackQueryHandler(stale_button, pattern=r"^complaint:"),
        ],
    )


# --- relaying customer messages to their open ticket -----------------------------------------


def relay_handler(otherwise: Callback) -> MessageHandler[Any, Any]:
    """A customer's message that no command or conversation claimed goes to the staff chat
    while a ticket is open with them, and to ``otherwise`` (the FAQ) when none is."""

    async def relay(update: Update, context: CareContext) -> None:
        complaints = context.services.complaints
        ticket_id = context.open_ticket_id  # looked up with the customer, before any handler
        if ticket_id is None:
            await otherwise(update, context)
            return
        text, photo = _content(update)
        if await refuse_too_long(update, context, text, "complaint_too_long"):
            return
        relayed = await complaints.relay(ticket_id, text, photo, uow=context.work)
        await post_customer_message(context, relayed, text, photo)

    return MessageHandler(PRIVATE & CONTENT, relay)


async def post_customer_message(
    context: CareContext, relayed: Relay, text: str | None, photo: str | None
) -> None:
    """Show a customer's message under their ticket's card, and remember where it is."""
    ticket = relayed.ticket
    chat = ticket.staff_chat_id or context.services.settings.staff_chat_id
    if chat is None:
        return
    html = context.services.renderer.chat(
        staff_language(context),
        "ticket_customer_message",
        name=ticket.customer_name,
        code=ticket.code,
        text=text,
    )
    reply_to = ticket.staff_card_message_id
    if photo:
        posted = await send_photo_html(context.bot, chat, photo, html, reply_to=reply_to)
        await log_outbound(
            context, chat, None, html, customer_id=ticket.customer_id, message_id=posted.message_id
        )
    else:
        posted = await send(context, chat, html, reply_to=reply_to, customer_id=ticket.customer_id)
    await context.services.complaints.attach_staff_message(
        relayed, posted.message_id, uow=context.work
    )


def handlers(settings: Settings) -> list[BaseHandler[Any, Any, Any]]:
    """The intake first, then stale form buttons. The relay is separate (``relay_handler``):
    it goes just before the FAQ fallback in bot/app.py."""
    return [
        intake(settings.conversation_timeout_minutes),
        CallbackQueryHandler(closed_form, pattern=r"^complaint:"),
    ]
