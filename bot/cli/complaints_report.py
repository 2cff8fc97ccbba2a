"""`carebot report complaints`: complaint and satisfaction statistics in the terminal.

How often, about what, how severe, how fast and how well complaints were resolved, month by
month, with the survey averages (SERVQUAL, CSAT, NPS). The same figures as /stats in the
staff chat.
"""

from __future__ import annotations

from datetime import date, timedelta

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from bot.cli.segment import parse_day
from care.core.text import format_date
from care.services import Services
from care.tickets import ComplaintStatistics, Durations

SINCE = typer.Option(None, "--since", help="From this day (dd/mm/yyyy), included.")
UNTIL = typer.Option(None, "--until", help="To this day (dd/mm/yyyy), included.")


def _hours(value: timedelta | None) -> str:
    return f"{value.total_seconds() / 3600:.1f} h" if value is not None else "-"


def _number(value: float | None, unit: str = "") -> str:
    return f"{value:.1f}{unit}" if value is not None else "-"


def _durations_row(d: Durations) -> list[str]:
    return [
        _hours(d.median_first_response),
        _hours(d.median_resolution),
        str(d.first_response_breaches),
        str(d.resolution_breaches),
    ]


def complaints(since: str | None = SINCE, until: str | None = UNTIL) -> None:
    """Counts by category, severity and status; response and resolution times; breaches;
    repeat complainers; per month; survey averages, CSAT and NPS."""
    start, end = parse_day(since), parse_day(until)
    if start and end and start > end:
        fail("--since is after --until")

    async def body(services: Services) -> ComplaintStatistics:
        return await services.complaint_stats.compute(start, end)

    print_statistics(run(body), start, end)


def print_statistics(stats: ComplaintStatistics, start: date | None, end: date | None) -> None:
    period = format_date(start) if start else "the beginning"
    period += f" – {format_date(end)}" if end else " – today"
    console.print(f"[bold]Complaints from {period}[/bold]: {stats.total}")

    counts = Table("category", "n", "severity", "n", "status", "n", title="Counts")
    columns = [
        list(stats.by_category.items()),
        list(stats.by_severity.items()),
        list(stats.by_status.items()),
    ]
    for i in range(max(len(c) for c in columns)):
        row: list[str] = []
        for column in columns:
            key, n = column[i] if i < len(column) else ("", "")
            row += [key, str(n)]
        counts.add_row(*row)
    console.print(counts)

    times = Table(
        "month",
        "tickets",
        "resolved",
        "1st response",
        "resolution",
        "late 1st",
        "late res.",
        title="Medians and deadline breaches",
    )
    for month in stats.months:
        times.add_row(
            f"{month.month:%m/%Y}",
            str(month.complaints),
            str(month.resolved),
            *_durations_row(month.durations),
        )
    times.add_row(
        "[bold]all[/bold]",
        str(stats.total),
        str(stats.by_status.get("resolved", 0)),
        *_durations_row(stats.durations),
    )
    console.print(times)

    if stats.repeat_complainers:
        repeat = Table("code", "name", "complaints", title="Repeat complainers")
        for r in stats.repeat_complainers:
            repeat.add_row(r.code, r.name, str(r.complaints))
        console.print(repeat)
    else:
        console.print("Repeat complainers: none")

    surveys = Table(
        "survey",
        "answers",
        "CSAT",
        "4-5",
        "NPS",
        *(d[:5] + "." for d in stats.surveys.dimensions),
        title="Satisfaction (CSAT mean 1-5, share of 4-5, NPS -100..100, SERVQUAL means 1-5)",
    )
    for name, summary in [("all", stats.surveys), *stats.by_trigger.items()]:
        share = summary.csat_satisfied_share
        surveys.add_row(
            name,
            str(summary.responses),
            _number(summary.csat_mean),
            _number(share * 100 if share is not None else None, "%"),
            _number(summary.nps),
            *[_number(v) for v in summary.dimensions.values()],
        )
    console.print(surveys)
