"""/start, /help, /language and the main menu."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import CareContext
from bot.handlers.common import answer_callback, edit, inline, label, reply

# The commands a customer sees in Telegram's menu, in this order.
CUSTOMER_COMMANDS = (
    "start",
    "orders",
    "complaint",
    "profile",
    "language",
    "stop",
    "mydata",
    "forgetme",
    "help",
)

MENU = (
    (("menu.faq", "menu:faq"), ("menu.orders", "menu:orders")),
    (("menu.complaint", "menu:complaint"), ("menu.profile", "menu:profile")),
    (("menu.language", "menu:language"),),
)


def main_menu(update: Update, context: CareContext):
    return inline([[(label(update, context, key), data) for key, data in row] for row in MENU])


async def start(update: Update, context: CareContext) -> None:
    """Greet in the customer's language and show what the bot can do."""
    user = update.effective_user
    await reply(
        update,
        context,
        "start",
        markup=main_menu(update, context),
        name=user.first_name if user else "",
        shop=context.services.settings.shop_name,
    )


async def help_command(update: Update, context: CareContext) -> None:
    await reply(update, context, "help", markup=main_menu(update, context))


async def menu_faq(update: Update, context: CareContext) -> None:
    await answer_callback(update, context)
    await reply(update, context, "faq_prompt")


async def choose_language(update: Update, context: CareContext) -> None:
    markup = inline([[("Tiếng Việt", "lang:vi"), ("English", "lang:en")]])
    if update.callback_query:
        await answer_callback(update, context)
        await edit(update, context, "language_choose", markup=markup)
    else:
        await reply(update, context, "language_choose", markup=markup)


async def set_language(update: Update, context: CareContext) -> None:
    """Remember the chosen language for this user (and their customer record, if linked)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    lang = query.data.split(":", 1)[1]
    if lang not in ("vi", "en"):
        await answer_callback(update, context)
        return
    context.user_data["language"] = lang
    customers = getattr(context.services, "customers", None)
    if customers is not None:
        await customers.set_language(query.from_user.id, lang)
    await answer_callback(update, context)
    await edit(update, context, "language_set", markup=main_menu(update, context))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command, filters=private),
        CommandHandler("language", choose_language, filters=private),
        CallbackQueryHandler(choose_language, pattern=r"^menu:language$"),
        CallbackQueryHandler(set_language, pattern=r"^lang:"),
        CallbackQueryHandler(menu_faq, pattern=r"^menu:faq$"),
    ]
