"""Satisfaction surveys in Telegram: CSAT, the five SERVQUAL questions, NPS and a comment.

Every question is a row of buttons whose data names the survey and the question
(``survey:<id>:csat:<n>``, ``survey:<id>:reliability:<n>``, ``survey:<id>:nps:<n>``,
``survey:<id>:skip:servqual``), so a press carries its whole meaning and the survey's row
decides whether it counts. The same contract serves the after-delivery invitation the care
programme sends and the question that comes with a resolved ticket. Only the comment needs
a conversation state (its text could be anything).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
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
    refuse_too_long,
    reply,
    user_id,
)
from bot.handlers.complaints import (
    post_card,
    post_customer_message,
    post_under_card,
    refresh_card,
    staff_language,
)
from care.core.settings import Settings
from care.outreach import survey_callback
from care.tickets import DIMENSIONS, NPS, SurveyStep

ANSWERING, COMMENT = "answering", "comment"
PENDING_COMMENT = "survey_comment"  # user_data: {"id": survey id, "at": ISO time asked}
END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE
_BUTTON = re.compile(r"^survey:(\d+):([a-z_]+):([a-z0-9]+)$")


def csat_markup(survey_id: int) -> InlineKeyboardMarkup:
    """The five CSAT buttons, the same as the care programme's invitation."""
    return inline([[(f"{n} ⭐", survey_callback(survey_id, n)) for n in range(1, 6)]])


def _question_markup(update: Update, context: CareContext, survey_id: int, question: str):
    skip = label(update, context, "survey.skip")
    if question == NPS:
        scores = [(str(n), f"survey:{survey_id}:nps:{n}") for n in range(11)]
        return inline([scores[:6], scores[6:], [(skip, f"survey:{survey_id}:skip:nps")]])
    return inline(
        [
            [(str(n), f"survey:{survey_id}:{question}:{n}") for n in range(1, 6)],
            [(skip, f"survey:{survey_id}:skip:servqual")],
        ]
    )


async def _ask(
    update: Update, context: CareContext, step: SurveyStep, *, after_csat: bool
) -> str | int:
    """Show the survey's next question; after the CSAT as a new message, so the message
    that carried the CSAT (a resolution note) stays as it was."""
    question = step.next
    values: dict[str, Any] = {}
    if question == "comment":
        context.user_data[PENDING_COMMENT] = {  # type: ignore[index]
            "id": step.survey_id,
            "at": context.services.clock().isoformat(),
        }
        template, markup = "survey_comment", None
        state: str | int = COMMENT
    elif question == "done":
        template, markup, state = "survey_done", None, END
        values["shop"] = context.services.settings.shop_name
    else:
        template = "survey_question"
        markup = _question_markup(update, context, step.survey_id, question or NPS)
        state = ANSWERING
        values.update(
            question=question,
            title=label(update, context, f"survey.dimension.{question}")
            if question in DIMENSIONS
            else "",
            number=DIMENSIONS.index(question) + 1 if question in DIMENSIONS else 0,
            total=len(DIMENSIONS),
            csat=step.csat if after_csat else None,
            low=step.low,
            shop=context.services.settings.shop_name,
        )
    if after_csat:
        query = update.callback_query
        if query is not None:
            await query.edit_message_reply_markup(None)
        await reply(update, context, template, markup=markup, **values)
    else:
        await edit(update, context, template, markup=markup, **values)
    return state


async def on_button(update: Update, context: CareContext) -> str | int | None:
    query = update.callback_query
    assert query is not None and query.data is not None
    match = _BUTTON.match(query.data)
    if match is None:
        await answer_callback(update, context, "survey.not_found")
        return None
    survey_id, kind, raw = int(match.group(1)), match.group(2), match.group(3)
    question = f"skip_{raw}" if kind == "skip" else kind
    value = int(raw) if raw.isdigit() and kind != "skip" else None
    step = await context.services.surveys.answer(survey_id, query.from_user.id, question, value)
    if not step.ok:
        await answer_callback(update, context, f"survey.{step.result}")
        return None
    await answer_callback(update, context, "survey.thanks_rating" if kind == "csat" else None)
    if kind == "csat" and step.low:
        await _tell_staff(context, step, query.from_user.first_name)
    return await _ask(update, context, step, after_csat=kind == "csat")


async def _tell_staff(context: CareContext, step: SurveyStep, first_name: str) -> None:
    """A CSAT of 1-2: staff pick the conversation up again, under the ticket's card."""
    if step.complaint_id is None:
        return
    complaints = context.services.complaints
    ticket = await complaints.ticket(step.complaint_id)
    if ticket is None:
        return
    renderer = context.services.renderer
    values = dict(
        customer=ticket.customer_name,
        score=step.csat,
        code=ticket.code,
        order_code=step.order_code,
        reopened=step.reopened,
        opened=step.opened,
        assignee=ticket.assignee,
    )
    if step.opened:
        intro = renderer.chat(staff_language(context), "ticket_low_rating", **values)
        await post_card(context, ticket, intro=intro)
        return
    note = await post_under_card(context, ticket, "ticket_low_rating", **values)
    if note is not None and step.reopened_note_id is not None:
        await complaints.attach_staff_message(step.reopened_note_id, note.message_id)
    await refresh_card(context, ticket)


class FreshComment(filters.MessageFilter):
    """A message from a customer whose survey asked for a comment within the conversation
    timeout. The conversation's own timeout does not survive a restart of the bot, so a
    comment asked for long ago is not one any more: such a message is left to the handlers
    after the survey (an order code, a question), and the conversation waits for a button.
    """

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        super().__init__(name="FreshComment")
        self.application = application

    def filter(self, message: Message) -> bool:
        if message.from_user is None:
            return False
        asked = self.application.user_data.get(message.from_user.id, {}).get(PENDING_COMMENT)
        services = self.application.bot_data["services"]
        return _fresh(asked, services.clock(), services.settings)


def comment_handlers(
    settings: Settings, application: Application[Any, Any, Any, Any, Any, Any]
) -> list[BaseHandler[Any, Any, Any]]:
    """The survey conversation: buttons at any time, and the comment when it is asked."""

    async def on_comment(update: Update, context: CareContext) -> str | int | None:
        pending = context.user_data.get(PENDING_COMMENT)  # type: ignore[union-attr]
        return await _comment(update, context, pending["id"], update.effective_message.text)

    async def on_skip(update: Update, context: CareContext) -> str | int | None:
        pending = context.user_data.get(PENDING_COMMENT) or {}  # type: ignore[union-attr]
        return await _comment(update, context, pending.get("id", 0), None)

    async def comment_timed_out(update: object, context: CareContext) -> None:
        context.user_data.pop(PENDING_COMMENT, None)  # type: ignore[union-attr]

    button = CallbackQueryHandler(on_button, pattern=r"^survey:")
    conversation = conversation_handler(
        "survey",
        settings.conversation_timeout_minutes,
        entry_points=[button],
        states={
            ANSWERING: [button],
            COMMENT: [
                MessageHandler(
                    PRIVATE & filters.TEXT & ~filters.COMMAND & FreshComment(application),
                    on_comment,
                ),
                CommandHandler("skip", on_skip, filters=PRIVATE),
                button,
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, comment_timed_out)],
        },
        fallbacks=[],
    )
    return [conversation]


def _fresh(pending: Any, now: datetime, settings: Settings) -> bool:
    if not isinstance(pending, dict) or "id" not in pending:
        return False
    try:
        asked = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return False
    return now - asked <= timedelta(minutes=settings.conversation_timeout_minutes)


async def _comment(
    update: Update, context: CareContext, survey_id: int, text: str | None
) -> str | int | None:
    if await refuse_too_long(update, context, text, "complaint_too_long"):
        return None
    step = await context.services.surveys.comment(survey_id, user_id(update), text)
    context.user_data.pop(PENDING_COMMENT, None)  # type: ignore[union-attr]
    if step.relay is not None:
        await post_customer_message(context, step.relay, text, None)
    await reply(update, context, "survey_done", shop=context.services.settings.shop_name)
    return END


def handlers(
    settings: Settings, application: Application[Any, Any, Any, Any, Any, Any]
) -> list[BaseHandler[Any, Any, Any]]:
    return comment_handlers(settings, application)
