"""`carebot report staff`: per staff member, tickets handled, first-response and resolution
times (median and 90th percentile), deadlines missed, CSAT of their tickets, contacts logged."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from bot.cli.segment import parse_day
from care.core.text import format_date
from care.services import Services
from care.tickets import StaffReport

SINCE = typer.Option(None, "--since", help="From this day (dd/mm/yyyy); default 30 days ago.")
UNTIL = typer.Option(None, "--until", help="To this day (dd/mm/yyyy), included; default today.")


def _hours(value: timedelta | None) -> str:
    return f"{value.total_seconds() / 3600:.1f} h" if value is not None else "-"


def staff(since: str | None = SINCE, until: str | None = UNTIL) -> None:
    """How each staff member served customers in a period."""
    start, end = parse_day(since), parse_day(until)
    if start and end and start > end:
        fail("--since is after --until")

    async def body(services: Services) -> StaffReport:
        return await services.staff_performance.compute(start, end)

    report = run(body)
    title = f"Staff from {format_date(report.since)} to {format_date(report.until)}"
    if not report.staff:
        console.print(f"{title}: no staff registered (carebot staff add)")
        return
    table = Table(title=title)
    for column in (
        "staff",
        "tickets",
        "resolved",
        "1st answer median",
        "1st answer p90",
        "resolution median",
        "resolution p90",
        "breaches",
        "CSAT",
        "contacts",
    ):
        table.add_column(column)
    for f in report.staff:
        table.add_row(
            f.name,
            str(f.tickets),
            str(f.resolved),
            _hours(f.median_first_response),
            _hours(f.p90_first_response),
            _hours(f.median_resolution),
            _hours(f.p90_resolution),
            str(f.breaches),
            f"{f.csat_mean:.2f} ({f.csat_responses})" if f.csat_mean is not None else "-",
            str(f.contacts),
        )
    console.print(table)
    if report.unassigned_open:
        console.print(f"{report.unassigned_open} open tickets of the period nobody has claimed")
