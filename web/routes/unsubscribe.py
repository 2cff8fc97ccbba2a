"""The page behind every e-mail's unsubscribe link, and the RFC 8058 one-click endpoint.

Every e-mail the care programme sends carries ``List-Unsubscribe: <…/unsubscribe/<token>>``
with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` and a visible link
(care.outreach.unsubscribe). A mail provider's unsubscribe button POSTs to that URL; a
person who follows the link gets a page with one button that POSTs to the same URL.
Either POST withdraws e-mail consent at once; posting again only confirms again. A token
that is not ours (forged, mangled, too long, not ASCII) gets a 404 and changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from care.core.models import Channel, Customer, Direction
from care.services import Services
from web.pages import page
from web.state import services_of

log = logging.getLogger("carebot.web")


def routes() -> list[BaseRoute]:
    return [
        Route("/unsubscribe/{token}", confirm, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
    ]


async def confirm(request: Request) -> HTMLResponse:
    """The page with the button. A GET never unsubscribes: mail scanners and link
    previews fetch every link in a message, and would opt out people who never clicked."""
    services = services_of(request)
    customer = await _customer(services, request.path_params["token"])
    if customer is None:
        return _not_found(services)
    return page(services, customer[1], "unsubscribe", state="confirm")


async def unsubscribe(request: Request) -> HTMLResponse:
    """Withdraw e-mail consent: the one-click POST (``List-Unsubscribe=One-Click``) or the
    page's button. The token alone decides; the body is never read."""
    services = services_of(request)
    token = request.path_params["token"]
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
    return page(services, language, "unsubscribe", state="done")


async def _customer(services: Services, token: str) -> tuple[int, str] | None:
    """The id and language of the customer a token names, or None if it names nobody."""
    customer_id = services.care.outbox.links.read(token)
    if customer_id is None:
        return None
    async with services.db.uow() as uow:
        language = await uow.session.scalar(
            select(Customer.language).where(Customer.id == customer_id)
        )
    return None if language is None else (customer_id, services.renderer.language(language))


def _not_found(services: Services) -> HTMLResponse:
    # Nobody identified, so the Vietnamese page, which says it in English below too.
    return page(services, "vi", "unsubscribe", state="not_found", status=404)
