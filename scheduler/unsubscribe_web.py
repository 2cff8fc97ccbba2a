"""The page behind every e-mail's unsubscribe link, and the RFC 8058 one-click endpoint.

Every e-mail the care programme sends carries
``List-Unsubscribe: <{public_base_url}/unsubscribe/<token>>`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` and a visible link (care.outreach.outbox).
A mail provider's unsubscribe button POSTs to that URL; a person who follows the link
gets a page with one button that POSTs to the same URL. Either POST withdraws e-mail
consent at once; posting again only confirms again. A token that is not ours gets a 404
and changes nothing.

It runs in the bot's process: ``bot.app.care_programme`` starts it with the scheduler
(WEB_LISTEN, WEB_PORT), and PUBLIC_BASE_URL must reach it, e.g. through the shop's
reverse proxy.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import select

from care.core.models import Channel, Customer, Direction
from care.outreach import read_unsubscribe_token
from care.services import Services

log = logging.getLogger("carebot.web")

SERVICES = web.AppKey("services", Services)
# The page is the customer's own; neither caches nor search engines should keep it.
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def make_app(services: Services) -> web.Application:
    """The routes: the unsubscribe page and its POST, and a health check for the proxy."""
    app = web.Application()
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/unsubscribe/{token}", confirm)
    app.router.add_post("/unsubscribe/{token}", unsubscribe)
    return app


async def start_web(services: Services, host: str, port: int) -> web.AppRunner:
    """Serve the pages on ``host:port`` (port 0: any free port) until ``stop_web``."""
    # No access log: every URL here holds a customer's token.
    runner = web.AppRunner(make_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("unsubscribe page served on http://%s:%s", host, bound_port(runner))
    return runner


async def stop_web(runner: web.AppRunner) -> None:
    await runner.cleanup()


def bound_port(runner: web.AppRunner) -> int:
    """The port actually listened on (what port 0 became)."""
    return int(runner.addresses[0][1])


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def confirm(request: web.Request) -> web.Response:
    """The page with the button. A GET never unsubscribes: mail scanners and link
    previews fetch every link in a message, and would opt out people who never clicked."""
    services = request.app[SERVICES]
    customer = await _customer(services, request.match_info["token"])
    if customer is None:
        return _not_found(services)
    return _page(services, customer[1], "confirm")


async def unsubscribe(request: web.Request) -> web.Response:
    """Withdraw e-mail consent: the one-click POST (``List-Unsubscribe=One-Click``) or the
    page's button. The token alone decides; the body is not needed."""
    services = request.app[SERVICES]
    token = request.match_info["token"]
    customer = await _customer(services, token)
    if customer is None or not await services.care.outbox.unsubscribe(token):
        return _not_found(services)
    customer_id, language = customer
    await services.interactions.record(
        direction=Direction.INBOUND,
        telegram_user_id=None,
        chat_id=None,
        kind="unsubscribe",
        text=None,
        channel=Channel.EMAIL,
        customer_id=customer_id,
    )
    log.info("customer %s withdrew e-mail consent through the unsubscribe link", customer_id)
    return _page(services, language, "done")


async def _customer(services: Services, token: str) -> tuple[int, str] | None:
    """The id and language of the customer a token names, or None if it names nobody."""
    customer_id = read_unsubscribe_token(token, services.settings)
    if customer_id is None:
        return None
    async with services.db.uow() as uow:
        language = await uow.session.scalar(
            select(Customer.language).where(Customer.id == customer_id)
        )
    return None if language is None else (customer_id, services.renderer.language(language))


def _not_found(services: Services) -> web.Response:
    # Nobody identified, so the Vietnamese page, which says it in English below too.
    return _page(services, "vi", "not_found", status=404)


def _page(services: Services, language: str, state: str, *, status: int = 200) -> web.Response:
    html = services.renderer.page(
        language, "unsubscribe", state=state, shop_name=services.settings.shop_name
    )
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )
