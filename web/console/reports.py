"""/console/reports (managers): the management report in the page, complaint statistics,
loyalty (the Vulnerability Index of each competitor campaign watched), and downloadable
exports (CSV or XLSX, every cell safe to open in a spreadsheet: care.io.write_table)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from care.core.text import to_local
from care.customers import ConsoleUser
from care.io import write_table
from web.console.base import MANAGER, language_of, not_found, render, staff_page
from web.pages import PRIVATE
from web.state import services_of

STATS_DAYS = 30
EXPORTS = ("customers",)
FORMATS = ("csv", "xlsx")


@staff_page(MANAGER)
async def reports_page(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    until = to_local(services.clock(), services.settings.timezone).date()
    since = until - timedelta(days=STATS_DAYS - 1)
    stats = await services.complaint_stats.compute(since, until)
    vulnerabilities = await services.loyalty.vulnerabilities(today=until)
    return render(
        request,
        "reports",
        user=user,
        s=stats,
        since=since,
        until=until,
        vulnerabilities=vulnerabilities,
        exports=EXPORTS,
        formats=FORMATS,
    )


@staff_page(MANAGER)
async def management_report(request: Request, user: ConsoleUser) -> Response:
    """The management report itself, shown in a frame of the reports page."""
    services = services_of(request)
    html = await services.reports.html(None, language_of(request))
    return HTMLResponse(html, headers={**PRIVATE, "Content-Security-Policy": "script-src 'none'"})


@staff_page(MANAGER)
async def export(request: Request, user: ConsoleUser) -> Response:
    what, kind = request.path_params["what"], request.path_params["format"]
    if what not in EXPORTS or kind not in FORMATS:
        return not_found(request, user)
    services = services_of(request)
    from care.analytics import EXPORT_COLUMNS

    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="carebot-export-"))
    path = folder / f"{what}.{kind}"
    count = await write_table(
        path, EXPORT_COLUMNS, services.segmentation.customer_rows(), sheet=what
    )
    await services.console.record(user, f"export.{what}", None, {"format": kind, "rows": count})

    def remove() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    day = to_local(services.clock(), services.settings.timezone).date()
    return FileResponse(
        path,
        filename=f"{what}-{day:%Y-%m-%d}.{kind}",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(remove),
    )
