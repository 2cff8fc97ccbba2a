"""The OpenAPI document and its readable page (no script, no CDN: one HTML page)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from web.api.openapi import openapi_document
from web.state import services_of


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(services_of(request).settings))


async def docs_page(request: Request) -> HTMLResponse:
    services = services_of(request)
    wanted = request.query_params.get("lang") or services.settings.default_language
    html = services.renderer.page(
        wanted,
        "api_docs",
        shop_name=services.settings.shop_name,
        spec=openapi_document(services.settings),
    )
    return HTMLResponse(html)
