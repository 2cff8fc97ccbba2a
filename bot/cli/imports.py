"""`carebot import`: customers, orders and products from CSV or XLSX files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.common import console, err_console, fail, run
from care.io import (
    ImportFileError,
    ImportLimits,
    ImportReport,
    import_customers,
    import_orders,
    import_products,
)
from care.services import Services

app = typer.Typer(
    help="Import customers, orders and products from CSV (UTF-8, , or ;) or XLSX files. "
    "A file with any bad row imports nothing.",
    no_args_is_help=True,
)

FILE = typer.Argument(..., help="A .csv or .xlsx file.")


@app.command()
def customers(file: Path = FILE) -> None:
    """Create or update customers (rows whose code exists update that customer)."""

    async def body(services: Services) -> ImportReport:
        limits = ImportLimits.from_settings(services.settings)
        return await import_customers(services.db, file, limits=limits)

    _show(file, _run(body), "customers")


@app.command()
def orders(file: Path = FILE) -> None:
    """Create or update orders and inquiries of customers already imported."""

    async def body(services: Services) -> ImportReport:
        report = await import_orders(
            services.db,
            file,
            timezone=services.settings.timezone,
            limits=ImportLimits.from_settings(services.settings),
            vouchers=services.vouchers,
        )
        if not report.errors:
            # New transactions re-classify their customers at once, not the next night.
            await services.segmentation.reclassify(report.customer_ids)
        return report

    report = _run(body)
    _show(file, report, "orders")
    if report.customer_ids:
        console.print(f"{len(report.customer_ids)} customers re-classified")


@app.command()
def products(file: Path = FILE) -> None:
    """Create or update products (the catalogue); order lines naming them link to them."""

    async def body(services: Services) -> ImportReport:
        from zoneinfo import ZoneInfo

        from care.core.text import to_local

        today = to_local(services.clock(), ZoneInfo(services.settings.timezone)).date()
        limits = ImportLimits.from_settings(services.settings)
        return await import_products(services.db, file, today=today, limits=limits)

    _show(file, _run(body), "products")


def _run(body: Callable[[Services], Awaitable[ImportReport]]) -> ImportReport:
    try:
        return run(body)
    except ImportFileError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        # Every row was checked before this; the database refusing one anyway is a gap in
        # those checks, told in one line, with the transaction rolled back.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        fail(f"the database refused the file ({reason}); nothing was imported")


def _show(file: Path, report: ImportReport, what: str) -> None:
    """Every bad row on a line of its own, so the whole file can be fixed in one pass."""
    if report.errors:
        for error in report.errors:
            err_console.print(str(error), highlight=False, markup=False, soft_wrap=True)
        if report.unlisted_errors:
            err_console.print(
                f"... and {report.unlisted_errors:,} more problems, not listed", highlight=False
            )
        rows = len({error.row for error in report.errors})
        more = "+" if report.unlisted_errors else ""
        fail(f"{file.name}: {rows}{more} bad row(s); nothing was imported")
    console.print(
        f"{file.name}: {what} created {report.created}, updated {report.updated}",
        highlight=False,
    )
