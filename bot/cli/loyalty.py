"""`carebot loyalty`: competitor campaigns and the Vulnerability Index of the customer base."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from bot.cli.segment import parse_day
from care.analytics import LoyaltyProblem, Vulnerability
from care.core.text import format_date, format_vnd
from care.services import Services

app = typer.Typer(
    help="Loyalty: watch competitor campaigns, list the customers they pull away.",
    no_args_is_help=True,
)


@app.command()
def watch(
    competitor: str = typer.Option(..., "--competitor", help="Who runs the campaign."),
    region: str = typer.Option(..., "--region", help="The region it targets, e.g. 'Hà Nội'."),
    start: str = typer.Option(..., "--start", help="First day (dd/mm/yyyy)."),
    end: str = typer.Option(..., "--end", help="Last day (dd/mm/yyyy)."),
    notes: str | None = typer.Option(None, "--notes", help="What the campaign offers."),
) -> None:
    """Record a competitor's campaign; its VI can then be followed with `loyalty vi`."""
    first, last = parse_day(start), parse_day(end)
    assert first is not None and last is not None

    async def body(services: Services) -> Any:
        try:
            campaign = await services.loyalty.watch(competitor, region, first, last, notes)
        except LoyaltyProblem as exc:
            return str(exc)
        return await services.loyalty.vulnerability(campaign.id)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    console.print(
        f"watching campaign #{result.campaign.id}: {result.campaign.competitor},"
        f" {result.campaign.region}",
        highlight=False,
    )
    _print_vi(result, customers=False)


@app.command("list")
def list_campaigns() -> None:
    """Every watched campaign with its current Vulnerability Index."""

    async def body(services: Services) -> list[Vulnerability]:
        return await services.loyalty.vulnerabilities()

    rows = run(body)
    if not rows:
        console.print("no competitor campaign recorded yet (see `carebot loyalty watch`)")
        return
    table = Table(title="Competitor campaigns")
    for column in ("#", "competitor", "region", "period", "window", "OS", "VS", "VI", "reading"):
        table.add_column(
            column,
            justify="right" if column in ("#", "OS", "VS", "VI") else "left",
            no_wrap=column in ("competitor", "VI", "reading"),
        )
    for v in rows:
        c = v.campaign
        table.add_row(
            str(c.id),
            c.competitor,
            c.region,
            _span(c.starts_on, c.ends_on),
            _window(v),
            str(v.observed),
            str(len(v.vulnerable)),
            _vi(v),
            v.reading or "—",
        )
    console.print(table)


@app.command("vi")
def vi(
    campaign_id: int | None = typer.Argument(None, help="Campaign number (default: latest)."),
    compare_region: str | None = typer.Option(
        None,
        "--compare-region",
        help="A region the campaign did not reach, to separate its effect from the season "
        "(default: the same region a year before).",
    ),
) -> None:
    """VI of a campaign and its vulnerable customers (code, name, baseline, window)."""

    async def body(services: Services) -> Vulnerability | None:
        return await services.loyalty.vulnerability(campaign_id, compare_region=compare_region)

    result = run(body)
    if result is None:
        fail("no such campaign" if campaign_id is not None else "no campaign recorded yet")
    _print_vi(result, customers=True)


def _vi(v: Vulnerability) -> str:
    return "—" if v.index is None else f"{v.index:.1f}%"


def _window(v: Vulnerability) -> str:
    if v.window_days == 0:
        return "not started"
    text = f"{_span(v.window_start, v.window_end)} ({v.window_days} days)"
    return text if v.window_complete else text + ", running"


def _print_vi(v: Vulnerability, *, customers: bool) -> None:
    c = v.campaign
    console.print(
        f"#{c.id} {c.competitor} in {c.region}, {_span(c.starts_on, c.ends_on)}:"
        f" window {_window(v)}, baseline {v.baseline_days} days",
        highlight=False,
    )
    console.print(
        f"OS (customers of the region with a purchase rate to lose) = {v.observed}, VS (whose"
        f" rate fell beyond chance) = {len(v.vulnerable)}, VI = {_vi(v)}",
        highlight=False,
    )
    cmp = v.comparison
    if cmp is not None:
        where = f"region {cmp.label}" if cmp.kind == "region" else f"a year before, {cmp.label}"
        cmp_vi = "—" if cmp.index is None else f"{cmp.index:.1f}%"
        console.print(
            f"comparison ({where}): OS = {cmp.observed}, VS = {cmp.vulnerable}, VI = {cmp_vi}",
            highlight=False,
        )
    if v.effect is not None:
        console.print(f"competitor's effect: {v.effect:+.1f} points", highlight=False)
    if v.reading is not None:
        low, high = v.thresholds
        console.print(
            f"reading: {v.reading.upper()} (low under {low:g}, high from {high:g})",
            highlight=False,
        )
    if not customers or not v.vulnerable:
        return
    per = 30.0
    table = Table(title=f"Vulnerable customers (per {per:.0f} days in brackets)")
    table.add_column("code", no_wrap=True)
    table.add_column("name", min_width=12)
    table.add_column("phone", no_wrap=True)
    table.add_column("baseline: orders, spend", justify="right")
    table.add_column("window: orders, spend", justify="right")
    table.add_column("decline", justify="right", no_wrap=True)
    window = max(v.window_days, 1)

    def figures(orders: int, amount: int, days: int) -> str:
        return (
            f"{orders} ({orders * per / days:.2f}),"
            f" {format_vnd(amount)} ({format_vnd(round(amount * per / days))})"
        )

    for w in v.vulnerable:
        decline = max(w.order_decline, w.amount_decline or w.order_decline)
        table.add_row(
            w.code,
            w.name,
            w.phone or "",
            figures(w.baseline_orders, w.baseline_amount, v.baseline_days),
            figures(w.window_orders, w.window_amount, window),
            f"{100 * decline:.0f}%",
        )
    console.print(table)


def _span(first: date, last: date) -> str:
    return f"{format_date(first)}–{format_date(last)}"
