"""The staff team chat: ticket cards' buttons, replies to customers, and staff commands.

Only people in the staff register (``carebot staff add``) may press a card's buttons, reply
to customers or use the commands; anyone else, in the staff chat or in private, is refused
by one guard (``StaffGuard``) and nothing changes. The care service checks the register
again in the transaction that makes the change, so the guard is for a helpful answer, not
the only check.

Resolving asks for the note the customer will read. In a group that works best as a
Telegram reply: the Resolve button posts a prompt, and the reply to that prompt is the
note; ``/resolve KN-000123 note`` does the same in one line.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from telegram import ForceReply, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import CareContext
from bot.handlers import faq_staff
from bot.handlers.common import answer_callback, message_text, send
from bot.handlers.complaints import (
    label_or,
    post_under_card,
    refresh_card,
    staff_label,
    staff_language,
    tell_customer,
    tier_label,
)
from bot.handlers.surveys import csat_markup
from care.analytics import CHARTS
from care.core.settings import Settings
from care.core.text import (
    format_date,
    format_duration,
    format_number,
    format_percent,
    parse_date,
    to_local,
)
from care.customers import MAX_CONTACT_NOTE, ContactProblem, split_kind
from care.tickets import ComplaintStatistics, Result, StaffAction, Ticket, parse_ticket_code
from care.vouchers import VoucherProblem, VoucherRefused

log = logging.getLogger("carebot.bot")

PROMPTS = "resolve_prompts"  # chat_data: {prompt message id: ticket id}
MAX_PROMPTS = 50
MAX_LIST = 25
MAX_HISTORY = 30
MAX_LINE = 300
STATS_DAYS = 30
# After the interaction log and flood control (bot/handlers/guards.py), before the areas.
GUARD_GROUP = -1


# --- helpers -------------------------------------------------------------------------------


def _render(context: CareContext, template: str, /, **values: Any) -> str:
    return context.services.renderer.chat(staff_language(context), template, **values)


async def _answer(update: Update, context: CareContext, template: str, /, **values: Any) -> Message:
    """Answer a staff member where they wrote, replying to their message."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None
    return await send(
        context,
        chat.id,
        _render(context, template, **values),
        reply_to=message.message_id if message is not None and chat.type != "private" else None,
        internal=True,
    )


async def _notice(update: Update, context: CareContext, key: str, /, **values: Any) -> Message:
    return await _answer(update, context, "ticket_notice", text=staff_label(context, key, **values))


class StaffGuard:
    """The staff check, once for every staff handler: runs in a group before the areas.

    An update one of the staff handlers would take (a card's button, a command, a reply
    to the bot in the staff chat) from anyone not in the register is refused with a clear
    answer and goes no further (``ApplicationHandlerStop``); the handlers themselves can
    then assume a registered staff member. A staff member's work in private is marked
    internal: it leaves their own customer record (they may be a customer too).
    """

    def __init__(self, work: list[BaseHandler[Any, Any, Any]]) -> None:
        self.work = work

    def is_staff_work(self, update: Update, context: CareContext) -> bool:
        taker = next((h for h in self.work if h.check_update(update)), None)
        if taker is None:
            return False
        return taker.callback is not on_reply or _replies_to_the_bot(update, context)

    async def __call__(self, update: Update, context: CareContext) -> None:
        if not self.is_staff_work(update, context):
            return
        user = update.effective_user
        staff = await context.services.staff.get(user.id if user else None)
        if staff is None:
            await _refuse(update, context)
            raise ApplicationHandlerStop
        message = update.message
        if message is not None and message.chat.type == "private":
            await context.mark_staff_work(message.chat.id, message.message_id)


async def _refuse(update: Update, context: CareContext) -> None:
    """Tell someone outside the register that this is staff work, and how to join."""
    user = update.effective_user
    if update.callback_query is not None:
        await answer_callback(update, context, "ticket.not_staff", alert=True)
        return
    chat = update.effective_chat
    in_staff_chat = chat is not None and chat.id == context.services.settings.staff_chat_id
    await _answer(
        update, context, "staff_refused", hint=in_staff_chat, user_id=user.id if user else 0
    )


def _refusal_key(action: StaffAction) -> str:
    return {
        Result.NOT_FOUND: "ticket.not_found",
        Result.NOT_STAFF: "ticket.not_staff",
        Result.ALREADY_YOURS: "ticket.already_yours",
        Result.CLAIMED_BY_OTHER: "ticket.claimed_by_other",
        Result.ALREADY_RESOLVED: "ticket.already_resolved",
    }[action.result]


def _refusal_values(action: StaffAction) -> dict[str, Any]:
    return {"code": action.ticket.code if action.ticket else "", "name": action.other or ""}


# --- the card's buttons ----------------------------------------------------------------------


async def on_ticket_button(update: Update, context: CareContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, raw_id = query.data.split(":")
    ticket_id = int(raw_id)
    if action == "claim":
        await _claim(update, context, ticket_id)
    elif action == "resolve":
        await _ask_resolution(update, context, ticket_id)
    else:
        ticket = await context.services.complaints.ticket(ticket_id, history=True)
        if ticket is None:
            await answer_callback(update, context, "ticket.not_found", alert=True)
            return
        await answer_callback(update, context)
        await post_under_card(context, ticket, "ticket_detail", **_detail_values(context, ticket))


async def _claim(update: Update, context: CareContext, ticket_id: int) -> None:
    query = update.callback_query
    assert query is not None
    action = await context.services.complaints.claim(ticket_id, query.from_user.id)
    if not action.ok:
        await answer_callback(
            update, context, _refusal_key(action), alert=True, **_refusal_values(action)
        )
        return
    ticket = action.ticket
    assert ticket is not None
    await answer_callback(update, context, "ticket.claimed", code=ticket.code)
    await refresh_card(context, ticket)
    await tell_customer(
        context,
        ticket,
        "ticket_claimed_customer",
        name=query.from_user.first_name,
        code=ticket.code,
    )


async def _ask_resolution(update: Update, context: CareContext, ticket_id: int) -> None:
    query = update.callback_query
    assert query is not None
    ticket = await context.services.complaints.ticket(ticket_id)
    if ticket is None:
        await answer_callback(update, context, "ticket.not_found", alert=True)
        return
    if not ticket.is_open:
        await answer_callback(
            update, context, "ticket.already_resolved", alert=True, code=ticket.code
        )
        return
    await answer_callback(update, context)
    chat = query.message.chat.id if query.message else context.services.settings.staff_chat_id
    assert chat is not None
    prompt = await send(
        context,
        chat,
        _render(
            context,
            "ticket_resolve_prompt",
            staff_id=query.from_user.id,
            name=query.from_user.first_name,
            code=ticket.code,
        ),
        markup=ForceReply(selective=True),
        reply_to=ticket.staff_card_message_id if chat == ticket.staff_chat_id else None,
    )
    prompts: dict[str, int] = context.chat_data.setdefault(PROMPTS, {})  # type: ignore[union-attr]
    prompts[str(prompt.message_id)] = ticket.id
    for old in list(prompts)[:-MAX_PROMPTS]:
        del prompts[old]


async def _resolve(update: Update, context: CareContext, ticket_id: int, note: str) -> None:
    """Resolve, tell the customer (with the CSAT question) and the staff chat."""
    user = update.effective_user
    assert user is not None
    action = await context.services.complaints.resolve(ticket_id, user.id, note)
    if not action.ok:
        await _notice(update, context, _refusal_key(action), **_refusal_values(action))
        return
    ticket = action.ticket
    assert ticket is not None and action.survey_id is not None
    await refresh_card(context, ticket)
    await tell_customer(
        context,
        ticket,
        "ticket_resolved_customer",
        markup=csat_markup(action.survey_id),
        code=ticket.code,
        note=ticket.resolution,
        name=user.first_name,
    )
    await _answer(update, context, "ticket_resolved_staff", code=ticket.code, name=user.first_name)


# --- replies in the staff chat ---------------------------------------------------------------


async def on_reply(update: Update, context: CareContext) -> None:
    """A reply to the bot's message in the staff chat: a resolution note (to a prompt) or a
    message for the customer, words and/or a photo (to a card, a photo or a relayed
    customer message)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.reply_to_message is not None and user is not None
    replied = message.reply_to_message
    if not _replies_to_the_bot(update, context):
        return  # staff talking among themselves
    text = message.text or message.caption or ""
    photo = message.photo[-1].file_id if message.photo else None
    if faq_staff.replies_to_digest(update):
        await faq_staff.handle(update, context, text.strip() or "?")
        return
    prompts = context.chat_data.get(PROMPTS, {})  # type: ignore[union-attr]
    prompted = prompts.get(str(replied.message_id))
    if prompted is not None:
        if photo is not None:
            await _notice(update, context, "staff.note_is_text")
            return
        await _resolve(update, context, prompted, text)
        return
    complaints = context.services.complaints
    ticket_id = await complaints.find_by_staff_message(replied.message_id)
    if ticket_id is None:
        await _notice(update, context, "staff.not_a_ticket")
        return
    # Any length: with the signature, a long answer reaches the customer in pages, a long
    # caption under the photo and the rest as text.
    action = await complaints.staff_reply(
        ticket_id, user.id, text, message.message_id, photo_file_id=photo
    )
    if not action.ok:
        await _notice(update, context, _refusal_key(action), **_refusal_values(action))
        return
    ticket = action.ticket
    assert ticket is not None
    await tell_customer(
        context,
        ticket,
        "ticket_staff_reply_customer",
        name=user.first_name,
        shop=context.services.settings.shop_name,
        code=ticket.code,
        text=text,
        photo=photo,
    )


def _replies_to_the_bot(update: Update, context: CareContext) -> bool:
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    return (
        replied is not None
        and replied.from_user is not None
        and (replied.from_user.id == context.bot.id)
    )


# --- commands --------------------------------------------------------------------------------


async def tickets_command(update: Update, context: CareContext) -> None:
    """/tickets: open tickets, most urgent first, with their age and who holds them."""
    services = context.services
    now = services.clock()
    lang = staff_language(context)
    rows = await services.complaints.open_tickets()
    shown = [
        {
            "code": r.code,
            "tier": tier_label(context, r.tier),
            "severity": staff_label(context, f"complaint.severity.{r.severity}"),
            "age": format_duration(now - r.created_at, lang),
            "late": r.late,
            "customer": r.customer_name,
            "assignee": r.assignee,
        }
        for r in rows[:MAX_LIST]
    ]
    await _answer(
        update,
        context,
        "ticket_list",
        rows=shown,
        total=len(rows),
        more=max(len(rows) - MAX_LIST, 0),
    )


async def ticket_command(update: Update, context: CareContext) -> None:
    """/ticket KN-000123: one ticket with its history."""
    args = context.args or []
    if not args:
        await _notice(update, context, "staff.usage_ticket")
        return
    ticket = await context.services.complaints.ticket_by_code(args[0], history=True)
    if ticket is None:
        await _notice(update, context, "ticket.not_found")
        return
    await _answer(update, context, "ticket_detail", **_detail_values(context, ticket))


async def resolve_command(update: Update, context: CareContext) -> None:
    """/resolve KN-000123 the note the customer will read."""
    parts = message_text(update).split(maxsplit=2)
    ticket_id = parse_ticket_code(parts[1]) if len(parts) > 1 else None
    if ticket_id is None or len(parts) < 3 or not parts[2].strip():
        await _notice(update, context, "staff.usage_resolve")
        return
    await _resolve(update, context, ticket_id, parts[2])


async def stats_command(update: Update, context: CareContext) -> None:
    """/stats [from [to]]: the complaint and satisfaction figures (the last 30 days)."""
    services = context.services
    args = context.args or []
    try:
        if args:
            since = parse_date(args[0])
            until = (
                parse_date(args[1])
                if len(args) > 1
                else to_local(services.clock(), services.settings.timezone).date()
            )
        else:
            until = to_local(services.clock(), services.settings.timezone).date()
            since = until - timedelta(days=STATS_DAYS - 1)
        stats = await services.complaint_stats.compute(since, until)
    except ValueError:
        await _answer(update, context, "staff_stats_usage")
        return
    await _answer(update, context, "staff_stats", **stats_values(context, stats))


def stats_values(context: CareContext, stats: ComplaintStatistics) -> dict[str, Any]:
    """The figures of /stats, formatted in the staff chat's language."""
    lang = staff_language(context)
    none = staff_label(context, "staff.duration.none")

    def duration(value: timedelta | None) -> str:
        return format_duration(value, lang) if value is not None else none

    def number(value: float | None) -> str:
        return format_number(value, lang) if value is not None else none

    def period(since: date | None, until: date | None) -> str:
        return f"{format_date(since)} – {format_date(until)}" if since and until else ""

    surveys = stats.surveys
    return {
        "s": stats,
        "period": period(stats.since, stats.until),
        "categories": [
            (staff_label(context, f"complaint.category.{k}"), n)
            for k, n in stats.by_category.items()
            if n
        ],
        "severities": [
            (staff_label(context, f"complaint.severity.{k}"), n)
            for k, n in stats.by_severity.items()
            if n
        ],
        "statuses": [
            (staff_label(context, f"complaint.status.{k}"), n)
            for k, n in stats.by_status.items()
            if n
        ],
        "first_response": duration(stats.durations.median_first_response),
        "resolution": duration(stats.durations.median_resolution),
        "repeaters": stats.repeat_complainers[:5],
        "months": [
            {
                "month": f"{m.month:%m/%Y}",
                "complaints": m.complaints,
                "resolved": m.resolved,
                "first_response": duration(m.durations.median_first_response),
                "resolution": duration(m.durations.median_resolution),
                "breaches": m.durations.first_response_breaches + m.durations.resolution_breaches,
            }
            for m in stats.months[-12:]
        ],
        "csat_mean": number(surveys.csat_mean),
        "csat_share": format_percent(surveys.csat_satisfied_share, lang)
        if surveys.csat_satisfied_share is not None
        else none,
        "nps": number(surveys.nps),
        "dimensions": [
            (staff_label(context, f"survey.dimension.{k}"), number(v))
            for k, v in surveys.dimensions.items()
        ],
    }


def _detail_values(context: CareContext, ticket: Ticket) -> dict[str, Any]:
    lang = staff_language(context)
    now = context.services.clock()
    history = []
    for entry in ticket.history:
        if entry.event:
            who = staff_label(context, "ticket.author.system")
            event = staff_label(context, f"ticket.event.{entry.event}", name=entry.name or "")
        else:
            who = entry.name or staff_label(context, f"ticket.author.{entry.author}")
            event = None
        text = entry.text
        if text and len(text) > MAX_LINE:
            text = text[:MAX_LINE] + "…"
        history.append(
            {"at": entry.at, "who": who, "event": event, "text": text, "photo": entry.photo}
        )
    cut = max(len(history) - MAX_HISTORY, 0)
    first = (ticket.first_response_at - ticket.created_at) if ticket.first_response_at else None
    resolved = (ticket.resolved_at - ticket.created_at) if ticket.resolved_at else None
    return {
        "t": ticket,
        "tier": tier_label(context, ticket.tier),
        "category": staff_label(context, f"complaint.category.{ticket.category}"),
        "severity": staff_label(context, f"complaint.severity.{ticket.severity}"),
        "status": staff_label(context, f"complaint.status.{ticket.status}"),
        "age": format_duration(now - ticket.created_at, lang),
        "first_response": format_duration(first, lang) if first is not None else None,
        "resolution": format_duration(resolved, lang) if resolved is not None else None,
        "history": history[cut:],
        "cut": cut,
    }


async def customer_command(update: Update, context: CareContext) -> None:
    """/customer CODE|phone|name: the customer card (profile, value, history, policies)."""
    parts = message_text(update).split(maxsplit=1)
    query = parts[1].strip() if len(parts) > 1 else ""
    if not query:
        await _notice(update, context, "staff.usage_customer")
        return
    services = context.services
    lang = staff_language(context)
    matches = await services.customer_cards.find(query)
    if not matches:
        await _notice(update, context, "staff.customer_not_found")
        return
    if len(matches) > 1:
        await _answer(update, context, "staff_customer_matches", matches=matches, query=query)
        return
    card = await services.customer_cards.card(matches[0].id, lang)
    if card is None:
        await _notice(update, context, "staff.customer_not_found")
        return
    metrics = card.metrics
    await _answer(
        update,
        context,
        "staff_customer",
        c=card,
        p=card.profile,
        m=metrics,
        kind=label_or(context, f"segmentation.kind.{card.profile.kind}", card.profile.kind),
        tier=tier_label(context, metrics.tier if metrics else None),
        segment=label_or(context, f"segmentation.segment.{metrics.segment}", metrics.segment or "-")
        if metrics
        else "",
        csat=format_number(card.surveys.csat or 0, lang),
        nps=format_number(card.surveys.nps or 0, lang, decimals=0),
        habits_items=format_number(card.habits.items, lang) if card.habits else "",
        tier_history=[
            {
                "changed_at": h.changed_at,
                "old": tier_label(context, h.old_value),
                "new": tier_label(context, h.new_value),
            }
            for h in card.tier_history
        ],
        contacts=[
            {
                "at": x.at,
                "kind": staff_label(context, f"contact.kind.{x.kind}"),
                "status": staff_label(context, f"contact.status.{x.status}"),
                "staff": x.staff_name,
                "text": _short(" · ".join(t for t in (x.note, x.outcome) if t)),
            }
            for x in card.contacts
        ],
    )


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "…"


async def note_command(update: Update, context: CareContext) -> None:
    """/note KH00012 [gọi|thăm|gặp|nhắn] what was said: a contact outside the bot."""
    parts = message_text(update).split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        await _notice(update, context, "staff.usage_note")
        return
    services = context.services
    matches = await services.customer_cards.find(parts[1])
    if len(matches) != 1 or matches[0].code.upper() != parts[1].upper():
        await _notice(update, context, "staff.customer_not_found")
        return
    user = update.effective_user
    staff = await services.staff.get(user.id if user else None)
    kind, note = split_kind(parts[2])
    try:
        await services.contacts.log(
            matches[0].id,
            kind=kind,
            note=note or parts[2],
            staff_id=staff.id if staff else None,
            source="chat",
        )
    except ContactProblem:
        await _notice(update, context, "staff.note_too_long", limit=MAX_CONTACT_NOTE)
        return
    await _notice(update, context, "staff.note_saved", name=matches[0].name, code=matches[0].code)


async def voucher_command(update: Update, context: CareContext) -> None:
    """/voucher CODE: is it valid; /voucher CODE ORDER: redeem it by that order."""
    args = context.args or []
    if not args or len(args) > 2:
        await _notice(update, context, "staff.usage_voucher")
        return
    services = context.services
    if len(args) == 1:
        check = await services.vouchers.check(args[0])
        v = check.voucher
        if not check.ok or v is None:
            key = f"voucher.refused.{check.refusal or 'unknown'}"
            await _notice(update, context, key, code=v.code if v else args[0])
            return
        await _notice(
            update,
            context,
            "voucher.valid",
            code=v.code,
            value=v.label,
            until=format_date(v.valid_until),
            customer=v.customer_code or "",
        )
        return
    user = update.effective_user
    staff = await services.staff.get(user.id if user else None)
    try:
        redeemed = await services.vouchers.redeem(
            args[0], args[1], staff_id=staff.id if staff else None
        )
    except VoucherRefused as exc:
        await _notice(update, context, f"voucher.refused.{exc.reason}", code=exc.code)
        return
    except VoucherProblem as exc:
        key = "voucher.no_order" if str(exc).startswith("no order") else "voucher.order_has_one"
        await _notice(update, context, key, order=args[1])
        return
    await _notice(
        update,
        context,
        "voucher.redeemed",
        code=redeemed.code,
        order=redeemed.order_code,
        value=redeemed.label,
    )


async def report_command(update: Update, context: CareContext) -> None:
    """/report: the management report's charts as photos, where it was asked for."""
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    lang = staff_language(context)
    await _notice(update, context, "staff.report_sending", count=len(CHARTS))
    await chat.send_chat_action(ChatAction.UPLOAD_PHOTO)
    pngs = await services.reports.pngs(None, lang)
    label = services.reports.labels(lang)
    for name, png in pngs.items():
        await context.bot.send_photo(chat.id, png, caption=label(f"report.chart.{name}"))


async def console_command(update: Update, context: CareContext) -> None:
    """/console in a private chat: a one-time link that signs this staff member in to the
    web console (15 minutes, single use). Sent without a link preview, which would fetch
    the link, and kept out of the interaction log, which would keep a usable token."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    link = await context.services.console.login_link(user.id)
    if link is None:  # removed between the guard and now
        await _refuse(update, context)
        return
    await context.bot.send_message(
        chat.id,
        _render(context, "console_link", link=link),
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


# --- wiring ----------------------------------------------------------------------------------


def guard(settings: Settings) -> TypeHandler[Update, CareContext, None]:
    """The staff check for everything ``handlers`` takes; add it in ``GUARD_GROUP``."""
    return TypeHandler(Update, StaffGuard(handlers(settings)))


def handlers(settings: Settings) -> list[BaseHandler[Any, Any, Any]]:
    """Staff commands work in the staff chat and in private; card buttons and replies
    belong to the staff chat. Only registered staff reach them: see ``guard``."""
    if settings.staff_chat_id is not None:
        staff_chat = filters.Chat(chat_id=settings.staff_chat_id)
        where = staff_chat | filters.ChatType.PRIVATE
    else:
        staff_chat = None
        where = filters.ChatType.PRIVATE
    result: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(on_ticket_button, pattern=r"^ticket:(claim|resolve|details):\d+$"),
        CommandHandler("tickets", tickets_command, filters=where),
        CommandHandler("ticket", ticket_command, filters=where),
        CommandHandler("resolve", resolve_command, filters=where),
        CommandHandler("stats", stats_command, filters=where),
        CommandHandler("customer", customer_command, filters=where),
        CommandHandler("note", note_command, filters=where),
        CommandHandler("voucher", voucher_command, filters=where),
        CommandHandler("report", report_command, filters=where),
        CommandHandler("faq", faq_staff.faq_command, filters=where),
        # The console's sign-in link goes only to a private chat, never to the group.
        CommandHandler("console", console_command, filters=filters.ChatType.PRIVATE),
    ]
    if staff_chat is not None:
        result.append(
            MessageHandler(
                staff_chat & filters.REPLY & (filters.TEXT | filters.PHOTO) & ~filters.COMMAND,
                on_reply,
            )
        )
    return result
