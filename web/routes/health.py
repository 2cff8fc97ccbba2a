"""/healthz: the reverse proxy's and the monitor's question "is the process serving?"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route


def routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz, methods=["GET"])]


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")
