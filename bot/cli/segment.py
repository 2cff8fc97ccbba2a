"""`carebot segment` (RFM, LTV, CLV and tiers for everyone) and `carebot export customers`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import console, fail, run
from care.core.text import format_date, parse_date

if TYPE_CHECKING:
    from care.analytics import RecomputeSummary
    from care.services import Services

export_app = typer.Typer(help="Export data to CSV or XLSX files.", no_args_is_help=True)


class _Failure:
    def __init__(self, message: str) -> None:
        self.message = message


def _guarded(body: Any) -> Any:
    """run() with bad configuration or input as one red line instead of a traceback."""

    async def guarded(services: Services) -> Any:
        try:
            return await body(services)
        except ValueError as exc:
            return _Failure(str(exc))

    result = run(guarded)
    if isinstance(result, _Failure):
        fail(result.message)
    return result


def parse_day(text: str | None) -> date | None:
    """A --as-of value (dd/mm/yyyy or yyyy-mm-dd), or a one-line error."""
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        fail(str(exc))


def segment(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Compute as if today were this day (dd/mm/yyyy); later orders are ignored.",
    ),
) -> None:
    """Recompute RFM segments, lifetime value, 12-month CLV and tiers of every customer."""
    from care.analytics import STEPS  # the models' numpy and scipy load only here

    day = parse_day(as_of)

    async def body(services: Services) -> RecomputeSummary:
        columns = (
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(STEPS[0], total=len(STEPS))

            def advance(step: str, done: int, total: int) -> None:
                progress.update(task, description=step, completed=done, total=total)

            return await services.segmentation.recompute(as_of=day, progress=advance)

    _print_summary(_guarded(body))


def _print_summary(s: RecomputeSummary) -> None:
    from care.analytics import KINDS, SEGMENTS

    console.print(
        f"as of {format_date(s.as_of)}: {s.customers:,} customers, {s.buyers:,} have bought;"
        f" {s.seconds:.1f} s"
    )
    tiers = Table(title="Tiers (80/20 on historical LTV)")
    tiers.add_column("tier")
    tiers.add_column("customers", justify="right")
    for name, n in s.tiers.items():
        tiers.add_row(name, f"{n:,}")
    console.print(tiers)
    segments = Table(title="RFM segments")
    segments.add_column("segment")
    segments.add_column("all", justify="right")
    for kind in KINDS:
        segments.add_column(f"within {kind}s", justify="right")
    for name in SEGMENTS:
        segments.add_row(
            name,
            f"{s.segments.get(name, 0):,}",
            *(f"{s.segments_by_kind.get(kind, {}).get(name, 0):,}" for kind in KINDS),
        )
    console.print(segments)
    fit = s.fit
    if fit.bgnbd is not None:
        b = fit.bgnbd
        console.print(
            f"BG/NBD: r={b.r:.4f} alpha={b.alpha:.4f} a={b.a:.4f} b={b.b:.4f}"
            f" (time unit {b.time_unit}; log-likelihood {b.log_likelihood:,.1f};"
            f" {b.n_customers:,} customers)"
        )
    else:
        console.print(f"BG/NBD: not fitted: {fit.bgnbd_problem}", highlight=False)
    if fit.gamma_gamma is not None:
        g = fit.gamma_gamma
        console.print(
            f"Gamma-Gamma: p={g.p:.4f} q={g.q:.4f} gamma={g.gamma:,.1f}"
            f" (margin per purchase in VND; log-likelihood {g.log_likelihood:,.1f};"
            f" {g.n_customers:,} repeat buyers)"
        )
    else:
        console.print(f"Gamma-Gamma: not fitted: {fit.gamma_gamma_problem}", highlight=False)
    console.print(f"changes recorded: {s.tier_changes:,} tier, {s.segment_changes:,} segment")


@export_app.command("customers")
def export_customers(
    file: Path = typer.Argument(..., help="Where to write: a .csv or .xlsx file."),
) -> None:
    """One row per customer: RFM, segment, tier, LTV and 12-month CLV (from the last run)."""
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        fail("the file must end in .csv or .xlsx")
    if not file.parent.exists():
        fail(f"no such folder: {file.parent}")

    async def body(services: Services) -> int:
        from care.analytics import EXPORT_COLUMNS
        from care.io import write_table

        rows = services.segmentation.customer_rows()
        return await write_table(file, EXPORT_COLUMNS, rows, sheet="customers")

    count = _guarded(body)
    console.print(f"wrote {count:,} customers to {file}")
