"""``create_app``: the one factory of the web app, like ``build_application`` for the bot.

The services and the bot's Application go into the app state once; each area's routes
come from its own module, in one explicit order. The console (/console/) and the API
(/api/v1/) will join them here.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from telegram.ext import Application

from care.core.settings import WEB_PATHS
from care.services import Services
from web import api, console
from web.routes import health, survey, telegram, unsubscribe
from web.routes.telegram import Webhook


def create_app(
    services: Services,
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    webhook: Webhook | None = None,
) -> Starlette:
    """The web app for these services and this bot; with ``webhook``, Telegram's updates
    are received on its path too."""
    routes: list[BaseRoute] = [
        *health.routes(),  # /healthz
        *unsubscribe.routes(),  # /unsubscribe/{token}: the page and the one-click POST
        *survey.routes(),  # /survey/{token}: the web survey of an e-mail invitation
        *api.routes(),  # /api/v1: the HTTP API for the shop's systems
        *console.routes(),  # /console/: the shop's web console, and /static/
    ]
    if webhook is not None:
        _check_webhook_path(webhook.path)
        routes += telegram.routes(webhook)  # the path of CAREBOT_WEBHOOK_URL
    app = Starlette(routes=routes)
    app.state.services = services
    app.state.application = application
    return app


def _check_webhook_path(path: str) -> None:
    """Settings refuse such a URL already; this guards callers that build a Webhook."""
    for taken in WEB_PATHS:
        if path.rstrip("/") in ("", taken) or path.startswith(taken + "/"):
            raise ValueError(
                f"the webhook's path {path!r} is one the web app serves itself; "
                "give CAREBOT_WEBHOOK_URL another, e.g. https://shop.example/telegram"
            )
