"""The one error handler: log the failure and tell the user, never leave them in silence."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode

from bot.context import CareContext

log = logging.getLogger("carebot.bot")


async def on_error(update: object, context: CareContext) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    lang = context.language(user.language_code if user else None)
    text = context.services.renderer.chat(lang, "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await update.effective_chat.send_message(text, parse_mode=ParseMode.HTML)
    except Exception:  # the apology itself failed (blocked user, network): logged only
        log.exception("could not tell the user about the error")
