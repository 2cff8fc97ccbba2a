"""/console/: the dashboard, what needs attention now."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from care.customers import ConsoleUser
from web.console.base import render, staff_page


@staff_page()
async def dashboard(request: Request, user: ConsoleUser) -> Response:
    return render(request, "dashboard", user=user)
