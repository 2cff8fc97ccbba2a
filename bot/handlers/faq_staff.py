"""Staff answer the FAQ's unanswered questions from the staff chat.

``/faq`` lists the most asked open questions and the wordings customers confirmed;
``/faq 12 the answer`` (or a reply "12 the answer" to the daily digest) makes question 12
an entry; ``/faq 12 =5`` makes it another way to ask entry 5; ``/faq ok p7`` learns the
pending wording p7 at once. Only registered staff get here (the staff guard).
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update

from bot.context import CareContext
from bot.handlers.common import message_text, send
from bot.handlers.complaints import staff_label, staff_language

DIGEST_MARK = "❓"  # the first character of the digest, whatever its language
_ANSWER = re.compile(r"^#?(\d+)\s+(.+)$", re.DOTALL)
_ALTERNATE = re.compile(r"^#?(\d+)\s*=\s*(\d+)$")
_APPROVE = re.compile(r"^ok\s+p\s*(\d+)$", re.IGNORECASE)


async def _post(update: Update, context: CareContext, body: str) -> None:
    """Answer a staff member where they wrote, replying to their message in a group."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None
    await send(
        context,
        chat.id,
        body,
        reply_to=message.message_id if message is not None and chat.type != "private" else None,
        internal=True,
    )


async def _say(update: Update, context: CareContext, key: str, /, **values: Any) -> None:
    text = staff_label(context, key, **values)
    await _post(
        update,
        context,
        context.services.renderer.chat(staff_language(context), "ticket_notice", text=text),
    )


async def faq_command(update: Update, context: CareContext) -> None:
    """/faq, /faq N answer, /faq N =ENTRY, /faq ok pN."""
    text = message_text(update).split(maxsplit=1)
    await handle(update, context, text[1].strip() if len(text) > 1 else "")


async def handle(update: Update, context: CareContext, order: str) -> None:
    """Carry out what a staff member wrote (without the command): list, answer, approve."""
    faq = context.services.faq
    if not order:
        groups = await faq.unanswered()
        pending = await faq.pending()
        body = context.services.renderer.chat(
            staff_language(context),
            "faq_digest",
            groups=[
                {"number": g.question_ids[0], "count": g.count, "example": g.example}
                for g in groups[:10]
            ],
            pending=[
                {
                    "number": p.confirmation_id,
                    "customers": p.customers,
                    "text": p.text,
                    "entry": p.entry_question,
                }
                for p in pending[:10]
            ],
        )
        await _post(update, context, body)
        return
    if found := _APPROVE.match(order):
        number = int(found[1])
        learned = await faq.approve(number)
        if learned is None:
            await _say(update, context, "staff.faq_no_pending", number=number)
        else:
            await _say(
                update,
                context,
                "staff.faq_alternate",
                text=learned.text,
                entry=learned.entry_id,
                question=learned.entry_question,
            )
        return
    if found := _ALTERNATE.match(order):
        number, entry_id = int(found[1]), int(found[2])
        if await faq.group_of(number) is None:
            await _say(update, context, "staff.faq_no_question", number=number)
            return
        learned = await faq.alternate_from_unanswered(number, entry_id)
        if learned is None:
            await _say(update, context, "staff.faq_no_entry", entry=entry_id)
        else:
            await _say(
                update,
                context,
                "staff.faq_alternate",
                text=learned.text,
                entry=learned.entry_id,
                question=learned.entry_question,
            )
        return
    if found := _ANSWER.match(order):
        number, answer = int(found[1]), found[2].strip()
        try:
            added = await faq.answer_unanswered(number, answer)
        except ValueError as exc:
            await _say(update, context, "staff.faq_refused", reason=str(exc))
            return
        if added is None:
            await _say(update, context, "staff.faq_no_question", number=number)
        else:
            await _say(
                update,
                context,
                "staff.faq_added",
                entry=added.entry.id,
                question=added.entry.question,
                answered=added.answered,
            )
        return
    await _say(update, context, "staff.faq_usage")


def replies_to_digest(update: Update) -> bool:
    """A reply to the bot's digest (or /faq list) of unanswered questions."""
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    return replied is not None and (replied.text or "").startswith(DIGEST_MARK)
