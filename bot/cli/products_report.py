"""`carebot report products`: what sells (units, revenue, margin by product and month),
the top products of each tier, and unmet demand by product."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from bot.cli.common import console, run
from care.core.text import format_date, format_vnd

if TYPE_CHECKING:
    from care.services import Services


def products(
    months: int = typer.Option(3, "--months", min=1, max=36, help="Months to show."),
    top: int = typer.Option(5, "--top", min=1, max=50, help="Top products per tier."),
) -> None:
    """Units, revenue and margin by product and month; top products per tier; unmet demand."""

    async def body(services: Services) -> tuple[Any, Any, Any, str]:
        reports = services.product_reports
        return (
            await reports.by_month(months=months),
            await reports.top_by_tier(limit=top),
            await reports.unmet_demand(),
            services.settings.timezone,
        )

    by_month, tops, unmet, timezone = run(body)
    sales = Table(
        "month",
        "code",
        "product",
        "category",
        "units",
        "revenue",
        "margin",
        title="Sales by product",
    )
    for row in by_month:
        sales.add_row(
            row.month,
            row.code or "-",
            row.name,
            row.category or "-",
            f"{row.units:,}",
            format_vnd(row.revenue),
            format_vnd(row.margin),
        )
    console.print(sales)
    for tier, items in tops.items():
        table = Table("code", "product", "units", "revenue", "customers", title=f"Top of {tier}")
        for item in items:
            table.add_row(
                item.code or "-",
                item.name,
                f"{item.units:,}",
                format_vnd(item.revenue),
                f"{item.customers:,}",
            )
        console.print(table)
    demand = Table(
        "code",
        "product",
        "category",
        "inquiries",
        "customers",
        "value",
        "last asked",
        title="Unmet demand (inquiries never bought)",
    )
    for item in unmet:
        demand.add_row(
            item.code or "-",
            item.name or "(no product named)",
            item.category or "-",
            f"{item.inquiries:,}",
            f"{item.customers:,}",
            format_vnd(item.value),
            format_date(item.last_asked, timezone),
        )
    console.print(demand)
