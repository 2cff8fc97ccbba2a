"""/console/: the dashboard, what needs attention now (care.analytics.Dashboard)."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from care.customers import ConsoleUser
from web.console.base import language_of, render, staff_page
from web.state import services_of


@staff_page()
async def dashboard(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    figures = await services.dashboard.figures()
    lang = language_of(request)
    labels = {
        "csat": services.renderer.label(lang, "console.dashboard.csat"),
        "nps": "NPS",
    }
    chart = None
    if any(m.answered for m in figures.trend):
        svg = await services.dashboard.trend_svg(figures.trend, labels)
        chart = Markup(svg)  # noqa: S704 - drawn by matplotlib from numbers and our labels
    return render(request, "dashboard", user=user, f=figures, chart=chart)
