"""`carebot run`: serve real Telegram and run the care programme in one process."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext

import typer

from bot.cli.common import fail, load_settings
from care.core.process_lock import LockHeld, process_lock
from care.core.settings import MissingSetting, Settings

POLLER_LOCK = "poller"


def run(
    webhook: bool = typer.Option(False, help="Receive updates by webhook (CAREBOT_WEBHOOK_URL)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every update."),
) -> None:
    """Serve the bot with long polling (or a webhook) until Ctrl+C."""
    settings = load_settings()
    try:
        settings.token()
    except MissingSetting as exc:
        fail(str(exc))
    if webhook and not settings.webhook_url:
        fail("CAREBOT_WEBHOOK_URL is not set; it is needed for --webhook")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def serve() -> None:
        async with one_poller(settings, webhook=webhook):
            # Only now the bot's libraries: a second poller is turned away before paying them.
            from bot.app import build_application, care_programme
            from bot.runner import running, settle_heap, until_signalled
            from care.services import build_services

            services = build_services(settings)
            hooks = care_programme(services, webhook=webhook)
            application = build_application(settings, services, **hooks)
            url = settings.webhook_url if webhook else None
            log = logging.getLogger("carebot")
            async with running(application, services, webhook=url):
                settle_heap()
                await until_signalled(ready=lambda: log.info("CareBot is running; Ctrl+C stops it"))

    try:
        asyncio.run(serve())
    except LockHeld as exc:
        fail(
            "CareBot is already running for this database "
            f"({exc.holder or 'another process'} polls Telegram for it); Telegram lets one "
            "process poll a bot, so stop that one first"
        )
    except OSError as exc:  # the unsubscribe page's port is taken, the network is down…
        fail(f"could not start: {exc}")


def one_poller(settings: Settings, *, webhook: bool) -> AbstractAsyncContextManager[None]:
    """The database's poller lock while polling: a second poller would fight the first
    for every update (Telegram answers it 409 Conflict). A webhook needs no lock."""
    if webhook:
        return nullcontext()
    return process_lock(settings.database_url, POLLER_LOCK, schema=settings.database_schema)
