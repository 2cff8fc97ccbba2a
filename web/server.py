"""Serving the web app: uvicorn as a task on the bot's running event loop.

As python-telegram-bot's custom-webhook example does, uvicorn runs inside the bot's
process and loop, so routes reach the same services and the same Application. The socket
is bound here first, so a port already taken fails the start with an OSError the command
reports, and port 0 tells us which port it became. Signals stay with the bot
(``bot.runner.until_signalled``): it stops the server in order, after the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp
from telegram.ext import Application

from care.services import Services
from web.app import create_app
from web.routes.telegram import Webhook

log = logging.getLogger("carebot.web")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot's runner owns Ctrl+C and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """The web app served on one socket until ``stop``."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], host: str, port: int):
        self._server = server
        self._task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    async def start(cls, app: ASGIApp, host: str, port: int) -> WebServer:
        """Serve ``app`` on ``host:port`` (port 0: any free one) from now on."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
        config = uvicorn.Config(
            app,
            lifespan="off",  # the services are started and closed by the bot's runner
            log_config=None,  # the command configures logging
            access_log=False,  # URLs carry customers' tokens
            server_header=False,
            ws="none",
            timeout_graceful_shutdown=5,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="carebot-web")
        while not server.started:
            if task.done():  # it failed before serving: say why
                sock.close()
                task.result()
                raise RuntimeError("the web server stopped before it started")
            await asyncio.sleep(0.01)
        bound = int(sock.getsockname()[1])
        web = cls(server, task, host, bound)
        log.info("web server on %s", web.url)
        return web

    async def stop(self) -> None:
        """Finish the requests in flight (5 s at most) and close the socket."""
        self._server.should_exit = True
        await self._task


async def start_web(
    services: Services,
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    webhook: bool = False,
) -> WebServer:
    """The web app of `carebot run` on WEB_LISTEN:WEB_PORT; with ``webhook``, also
    Telegram's updates on the path of WEBHOOK_URL, checked against the webhook secret."""
    settings = services.settings
    hook = None
    if webhook:
        if not settings.webhook_url:
            raise ValueError("CAREBOT_WEBHOOK_URL is not set; it is needed for the webhook")
        hook = Webhook(
            path=urlsplit(settings.webhook_url).path,
            secret=await services.keys.webhook_secret(),
        )
    app = create_app(services, application, webhook=hook)
    return await WebServer.start(app, settings.web_listen, settings.web_port)
