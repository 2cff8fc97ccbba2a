"""Running the bot: one lifecycle for `carebot run`, the demo and the e2e tests.

The order matters: the schema is brought up to date before the Application initialises
(its persistence reads conversations from the database), and the services close only
after the Application has shut down and flushed its state.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from telegram import Update
from telegram.ext import Application

from care.services import Services


@asynccontextmanager
async def running(
    application: Application[Any, Any, Any, Any, Any, Any],
    services: Services,
    *,
    poll_timeout: float = 10,
    webhook: str | None = None,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The bot receiving updates (long polling, or at the ``webhook`` URL) for the length
    of the block. The webhook's requests are served by the web server
    (``care_programme(services, webhook=True)``), which checks the same secret token."""
    await services.start()
    try:
        async with application:
            if application.post_init is not None:
                await application.post_init(application)
            updater = application.updater
            assert updater is not None
            if webhook is None:
                await updater.start_polling(
                    poll_interval=0.0,
                    timeout=poll_timeout,
                    allowed_updates=Update.ALL_TYPES,
                    drop_pending_updates=False,
                )
            else:
                await application.bot.set_webhook(
                    webhook,
                    secret_token=await services.keys.webhook_secret(),
                    allowed_updates=Update.ALL_TYPES,
                )
            await application.start()
            try:
                yield application
            finally:
                if updater.running:
                    await updater.stop()
                await application.stop()
                if application.post_stop is not None:
                    await application.post_stop(application)
    finally:
        await services.close()


async def until_signalled(ready: Callable[[], None] | None = None) -> None:
    """Wait for Ctrl+C or SIGTERM, so the bot stops cleanly and keeps its state.

    ``ready`` runs once the signals are caught: whoever it tells that the bot is running
    may stop it at once without killing it mid-way.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready()
    await stop.wait()


def settle_heap() -> None:
    """Take what start-up built (modules, the Application, the services) out of the
    garbage collector's sight, for the life of the process.

    A full collection walks every object the collector tracks, on whichever thread
    triggers it, holding the interpreter lock: with the libraries of a running bot loaded
    that is a fifth of a second and more, a stall every customer waiting for an answer
    feels. What exists once start-up is over lives as long as the process anyway.
    """
    gc.collect()
    gc.freeze()
