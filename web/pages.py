"""HTML pages: rendered by the one renderer, sent with headers that keep them private."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse

from care.services import Services

# Page URLs carry a customer's token: no cache keeps them, no search engine indexes them,
# and no link on the page hands them on in a Referer.
PRIVATE = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page(
    services: Services, language: str | None, name: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """``templates/web/<lang>/<name>.html`` in the reader's language, with the shop's name."""
    html = services.renderer.page(language, name, shop_name=services.settings.shop_name, **context)
    return HTMLResponse(html, status_code=status, headers=PRIVATE)
