"""/console/imports (managers): upload customers, orders or FAQ entries as CSV or XLSX, see
the first rows and every bad row with its number before anything is written, then import
all or nothing.

The upload is checked by the same import the command line runs, in ``check_only`` mode
(its transaction rolled back), and kept under a random name until it is confirmed; the
confirmation imports that very file once: a second confirmation finds it gone.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from itertools import islice
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.customers import ConsoleUser
from care.io import (
    ImportFileError,
    ImportLimits,
    ImportReport,
    import_customers,
    import_orders,
    read_table,
)
from care.services import Services
from web.console.base import MANAGER, render, staff_page
from web.console.forms import Form
from web.state import services_of

KINDS = ("customers", "orders", "faq")
SUFFIXES = (".csv", ".xlsx")
PREVIEW_ROWS = 10
UPLOAD = re.compile(r"^(customers|orders|faq)-([A-Za-z0-9_-]{16,40})(\.csv|\.xlsx)$")


def _folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "carebot-console-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _preview(path: Path, limits: ImportLimits) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = read_table(path, limits)
    rows = [
        (number, [str(c) if c is not None else "" for c in cells])
        for number, cells in islice(table.rows, PREVIEW_ROWS)
    ]
    close = getattr(table.rows, "close", None)
    if close is not None:
        close()
    return [str(h) for h in table.headers], rows


async def _run(services: Services, kind: str, path: Path, *, check_only: bool) -> ImportReport:
    limits = ImportLimits.from_settings(services.settings)
    if kind == "customers":
        return await import_customers(services.db, path, limits=limits, check_only=check_only)
    if kind == "orders":
        report = await import_orders(
            services.db,
            path,
            timezone=services.settings.timezone,
            limits=limits,
            check_only=check_only,
        )
        if report.ok and not check_only and report.customer_ids:
            await services.segmentation.reclassify(report.customer_ids)
        return report
    return await services.faq.import_file(path, check_only=check_only)


@staff_page(MANAGER)
async def imports_page(request: Request, user: ConsoleUser) -> Response:
    return render(
        request,
        "imports",
        user=user,
        form=Form({"kind": "customers"}),
        kinds=KINDS,
        done=request.query_params.get("done"),
    )


@staff_page(MANAGER)
async def upload(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    data = await request.form(max_files=1, max_fields=10)
    form = Form.of(data)
    kind = form.choice("kind", KINDS)
    file = data.get("file")
    suffix = ""
    if not isinstance(file, UploadFile) or not file.filename:
        form.problem("file", "console.imports.no_file")
    else:
        suffix = Path(file.filename).suffix.lower()
        if suffix not in SUFFIXES:
            form.problem("file", "console.imports.bad_type")
    if not form.ok or kind is None or not isinstance(file, UploadFile):
        return render(request, "imports", user=user, form=form, kinds=KINDS, done=None, status=400)
    limit = services.settings.import_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        form.problem("file", "console.imports.too_big")
        return render(request, "imports", user=user, form=form, kinds=KINDS, done=None, status=400)
    name = f"{kind}-{secrets.token_urlsafe(18)}{suffix}"
    path = _folder() / name
    await asyncio.to_thread(path.write_bytes, content)
    limits = ImportLimits.from_settings(services.settings)
    try:
        headers, rows = await asyncio.to_thread(_preview, path, limits)
        report = await _run(services, kind, path, check_only=True)
    except ImportFileError as exc:
        path.unlink(missing_ok=True)
        form.problem("file", str(exc).replace(name, file.filename or name))
        return render(request, "imports", user=user, form=form, kinds=KINDS, done=None, status=400)
    if not report.ok:
        path.unlink(missing_ok=True)
    return render(
        request,
        "import_preview",
        user=user,
        kind=kind,
        filename=file.filename,
        upload=name if report.ok else None,
        headers=headers,
        rows=rows,
        report=report,
        status=200 if report.ok else 400,
    )


@staff_page(MANAGER)
async def confirm(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    name = request.path_params["upload"]
    match = UPLOAD.fullmatch(name)
    path = _folder() / name if match else None
    if match is None or path is None or not path.is_file():
        return RedirectResponse("/console/imports?done=gone", status_code=303)
    kind = match.group(1)
    claimed = path.with_name("run-" + name)  # keeps its suffix: the readers go by it
    try:
        path.rename(claimed)  # one confirmation imports it; a second finds nothing
    except FileNotFoundError:
        return RedirectResponse("/console/imports?done=gone", status_code=303)
    try:
        report = await _run(services, kind, claimed, check_only=False)
    except (ImportFileError, SQLAlchemyError):
        return RedirectResponse("/console/imports?done=failed", status_code=303)
    finally:
        claimed.unlink(missing_ok=True)
    if not report.ok:
        return RedirectResponse("/console/imports?done=failed", status_code=303)
    await services.console.record(
        user, f"import.{kind}", None, {"created": report.created, "updated": report.updated}
    )
    return RedirectResponse(
        f"/console/imports?done=imported&created={report.created}&updated={report.updated}",
        status_code=303,
    )
