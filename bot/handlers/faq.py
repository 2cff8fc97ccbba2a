"""FAQ self-service: any free text not claimed by another area is a question.

A confident match is answered; a middling one offers the closest questions as buttons;
no match says so, offers a person, and the FAQ service keeps the question as unmet
demand. These handlers come last: every other area has had its chance first.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import CareContext
from bot.handlers.common import (
    answer_callback,
    edit,
    inline,
    label,
    language,
    message_text,
    refuse_too_long,
    reply,
)
from care.faq import asker_key

BUTTON_TEXT_MAX = 60
ASKED = "faq_asked"  # user_data: {"text": the wording, "language": ...} of the last suggestions


def _short(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_MAX else text[: BUTTON_TEXT_MAX - 1].rstrip() + "…"


async def ask(update: Update, context: CareContext) -> None:
    """Answer a typed question, or offer choices, or a person."""
    text = message_text(update)
    if not text.strip():  # a photo or a sticker with no ticket open: ask for words
        await reply(update, context, "faq_prompt")
        return
    if await refuse_too_long(update, context, text, "faq_too_long"):
        return
    customer = context.customer
    user = update.effective_user
    asker = asker_key(user.id) if user else None
    lang = language(update, context)
    answer = await context.services.faq.ask(
        text, lang, customer.id if customer else None, uow=context.work, asker=asker
    )
    if context.user_data is not None:
        if answer.kind == "suggest":
            # Remembered for the tap: the wording may become an alternate of the entry.
            context.user_data[ASKED] = {"text": text, "language": lang}
        else:
            context.user_data.pop(ASKED, None)
    if answer.kind == "answer" and answer.entry is not None:
        await reply(
            update,
            context,
            "faq_answer",
            question=answer.entry.question,
            answer=answer.entry.answer,
        )
    elif answer.kind == "suggest" and answer.suggestions:
        markup = inline([[(_short(s.question), f"faq:{s.id}")] for s in answer.suggestions])
        await reply(update, context, "faq_suggest", markup=markup)
    else:
        markup = inline([[(label(update, context, "faq.human_button"), "menu:complaint")]])
        await reply(update, context, "faq_none", markup=markup)


async def picked(update: Update, context: CareContext) -> None:
    """A "did you mean" choice: the suggestions give way to the answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    raw = query.data.split(":", 1)[1]
    entry = await context.services.faq.entry(int(raw)) if raw.isdigit() else None
    if entry is None:
        await answer_callback(update, context, "faq.gone", alert=True)
        await edit(update, context, "faq_gone")
        return
    await answer_callback(update, context)
    asked = context.user_data.pop(ASKED, None) if context.user_data is not None else None
    user = update.effective_user
    if isinstance(asked, dict) and user is not None:
        # The customer's wording led to this entry: it counts towards learning it.
        await context.services.faq.confirm(
            entry.id, str(asked.get("text", "")), str(asked.get("language", "")), asker_key(user.id)
        )
    await edit(update, context, "faq_answer", question=entry.question, answer=entry.answer)


async def unknown_command(update: Update, context: CareContext) -> None:
    """A command no area knows: say so rather than stay silent."""
    message = update.effective_message
    command = (message.text or "").split()[0].split("@")[0] if message else ""
    if command in ("/cancel", "/skip"):
        await reply(update, context, "faq_nothing_to_cancel")
    else:
        await reply(update, context, "faq_unknown_command", command=command)


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CallbackQueryHandler(picked, pattern=r"^faq:"),
        MessageHandler(filters.COMMAND & private, unknown_command),
    ]
