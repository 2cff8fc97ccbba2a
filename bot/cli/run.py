"""`carebot run`: serve real Telegram and run the care programme in one process."""

from __future__ import annotations

import asyncio
import logging

import typer

from bot.app import build_application, care_programme
from bot.cli.common import fail, load_settings
from bot.runner import running, settle_heap, until_signalled
from care.services import build_services
from care.settings import MissingSetting


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
        services = build_services(settings)
        application = build_application(settings, services, **care_programme(services))
        hook = (
            {
                "listen": settings.webhook_listen,
                "port": settings.webhook_port,
                "webhook_url": settings.webhook_url,
            }
            if webhook
            else None
        )
        async with running(application, services, webhook=hook):
            settle_heap()
            logging.getLogger("carebot").info("CareBot is running; Ctrl+C stops it")
            await until_signalled()

    try:
        asyncio.run(serve())
    except OSError as exc:  # the unsubscribe page's port is taken, the network is down…
        fail(f"could not start: {exc}")
