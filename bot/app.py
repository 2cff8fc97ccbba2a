"""The composition root of the bot: build the Application, wire services and handlers.

python-telegram-bot's own pattern: the builder chain and the services kept in
``bot_data``. The services are started and closed around the Application by
``bot.runner.running``, because the persistence reads the database while the Application
initialises. Nothing here runs at import.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Defaults

from bot.application import CareApplication
from bot.context import CareContext
from bot.handlers import (
    complaints,
    errors,
    faq,
    guards,
    linking,
    orders,
    profile,
    staff,
    start,
    surveys,
)
from bot.handlers.guards import FloodGuard
from bot.persistence import DatabasePersistence
from bot.request import RetryingRequest
from bot.ticket_cards import TicketCards
from bot.ticket_desk import TicketDesk
from care.core.settings import Settings
from care.services import Services
from scheduler import start_scheduler, stop_scheduler
from scheduler.telegram_budget import TelegramBudget
from web.server import start_web

log = logging.getLogger("carebot.bot")

Hook = Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]

STAFF_COMMANDS = (
    "tickets",
    "ticket",
    "resolve",
    "customer",
    "note",
    "voucher",
    "stats",
    "report",
    "faq",
)


def build_application(
    settings: Settings,
    services: Services,
    *,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> Application[Any, CareContext, Any, Any, Any, Any]:
    """The bot for these settings and services (run it with ``bot.runner.running``).

    ``on_start``/``on_stop`` let the caller start more in the bot's loop (the scheduler
    in ``carebot run`` and ``carebot demo``) once the bot is ready, and stop it first.
    """

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.bot_data["ticket_cards"].start()  # cards Telegram did not take before, first
        await _register_commands(app, services)
        if on_start is not None:
            await on_start(app)

    async def post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if on_stop is not None:
            await on_stop(app)
        await app.bot_data["ticket_cards"].stop()

    application = (
        Application.builder()
        .application_class(CareApplication)
        .token(settings.token())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.file_base_url)
        .context_types(ContextTypes(context=CareContext))
        .defaults(Defaults(tzinfo=ZoneInfo(settings.timezone)))
        .persistence(DatabasePersistence(services.db))
        # Telegram's 5xx and network failures are retried below the rate limiter.
        .request(
            RetryingRequest(
                attempts=settings.telegram_retry_attempts,
                first_delay=settings.telegram_retry_seconds,
                max_delay=settings.telegram_retry_seconds * 8,
            )
        )
        # The token's one budget: the handlers' replies take the next free slot, and the
        # outbox dispatcher (care_programme) sends campaigns through this bot in the slots
        # they leave.
        .rate_limiter(TelegramBudget(settings.telegram_messages_per_second, max_retries=3))
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["flood_guard"] = FloodGuard(settings.flood_messages_per_minute)
    application.bot_data["ticket_cards"] = TicketCards(
        application, interval=settings.ticket_card_retry_seconds
    )
    # Ticket work from the web console, delivered as the staff chat delivers it.
    application.bot_data["ticket_desk"] = TicketDesk(application)

    # Before any area: drop a flooding user's extras (writing nothing), then look up who
    # wrote, once for the update, and log the inbound message.
    for handler, group in guards.handlers():
        application.add_handler(handler, group=group)
    # The areas, in the order they claim an update (the first match in group 0 wins):
    # commands and menus first, free text (the FAQ) last.
    application.add_handlers(start.handlers())
    # The staff chat: ticket buttons, replies to customers, /tickets /ticket /resolve /stats,
    # behind one guard (in its own group) that refuses anyone not in the staff register.
    application.add_handler(staff.guard(settings), group=staff.GUARD_GROUP)
    application.add_handlers(staff.handlers(settings))
    # The complaint intake conversation (/complaint, menu:complaint), then stale form buttons.
    application.add_handlers(complaints.handlers(settings))
    # Satisfaction surveys: CSAT/SERVQUAL/NPS buttons (survey:<id>:...) and the comment.
    application.add_handlers(surveys.handlers(settings, application))
    # Linking a Telegram account: /link, a shared contact, registration, one-time codes.
    application.add_handlers(linking.handlers(settings))
    # The customer's own data: /profile, consent, /stop and its words, /mydata, /forgetme.
    application.add_handlers(profile.handlers(settings))
    # /orders, /order CODE, and a message that is only an order code (before the FAQ).
    application.add_handlers(orders.handlers(settings))
    # LAST: any other message goes to the customer's open ticket, or else is an FAQ
    # question; FAQ buttons and unknown commands are answered here too.
    application.add_handlers([complaints.relay_handler(otherwise=faq.ask)])
    application.add_handlers(faq.handlers())
    application.add_error_handler(errors.on_error)
    return application


def care_programme(services: Services, *, webhook: bool = False) -> dict[str, Hook]:
    """Hooks that run the care programme (scheduler, outbox dispatcher) and the web server
    (unsubscribe page, /healthz, with ``webhook`` the Telegram webhook) with the bot.

    Pass them to ``build_application``: the scheduler starts once the bot is ready, with
    the Application's bot (so the outbox shares its Telegram budget, conversations first),
    and stops before the bot does, so messages in flight finish.
    """

    async def on_start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        # The web server first: a port already taken stops the start before anything is sent.
        app.bot_data["care_web"] = await start_web(services, app, webhook=webhook)
        app.bot_data["care_scheduler"] = start_scheduler(services, app.bot)

    async def on_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        web_server = app.bot_data.pop("care_web", None)
        if web_server is not None:
            await web_server.stop()
        handle = app.bot_data.pop("care_scheduler", None)
        if handle is not None:
            await stop_scheduler(handle)

    return {"on_start": on_start, "on_stop": on_stop}


async def _register_commands(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    """The command menus: customers' in Vietnamese and English, staff's in the staff chat,
    and in each staff member's private chat the customers' commands and /console."""
    renderer = services.renderer
    for lang in ("vi", "en"):
        commands = [
            BotCommand(name, renderer.label(lang, f"command.{name}"))
            for name in start.CUSTOMER_COMMANDS
        ]
        code = None if lang == services.settings.default_language else lang
        await app.bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=code
        )
        if code is None:
            await app.bot.set_my_commands(
                commands, scope=BotCommandScopeAllPrivateChats(), language_code=lang
            )
    staff_chat = services.settings.staff_chat_id
    if staff_chat is not None:
        lang = services.settings.default_language
        staff_commands = [
            BotCommand(name, renderer.label(lang, f"command.{name}"))
            for name in STAFF_COMMANDS
            if renderer.has_label(lang, f"command.{name}")
        ]
        if staff_commands:
            await app.bot.set_my_commands(staff_commands, scope=BotCommandScopeChat(staff_chat))
    await _register_staff_private_commands(app, services)


async def _register_staff_private_commands(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    """/console in the menu of each staff member's private chat (set at start: someone
    added later has it after the next start). A chat Telegram does not know yet (they
    never wrote to the bot) is skipped: the bot starts all the same."""
    renderer = services.renderer
    menus = {
        lang: [
            BotCommand(name, renderer.label(lang, f"command.{name}"))
            for name in (*start.CUSTOMER_COMMANDS, "console")
        ]
        for lang in ("vi", "en")
    }
    default = services.settings.default_language
    for member in await services.staff.list():
        scope = BotCommandScopeChat(member.telegram_user_id)
        try:
            await app.bot.set_my_commands(menus[default], scope=scope)
            for lang, commands in menus.items():
                await app.bot.set_my_commands(commands, scope=scope, language_code=lang)
        except TelegramError as exc:
            log.info("no command menu for staff %s: %s", member.telegram_user_id, exc)
