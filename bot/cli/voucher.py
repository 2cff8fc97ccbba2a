"""`carebot voucher`: issue voucher codes, list them, check one, redeem one, and the report
of what they brought."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from bot.cli.common import console, fail, one_customer, run
from bot.cli.segment import parse_day
from care.core.text import format_date, format_datetime, format_vnd, parse_vnd
from care.services import Services
from care.vouchers import REFUSAL_TEXT, VoucherProblem, VoucherRefused, VoucherView

app = typer.Typer(
    help="Vouchers: issue codes per campaign or customer, check and redeem them, report.",
    no_args_is_help=True,
)


def _value(text: str) -> tuple[str, int]:
    """``10%`` is a percentage; anything else an amount in VND (100.000, 100k, 1,5tr)."""
    text = text.strip()
    try:
        if text.endswith("%"):
            return "percent", int(text[:-1].strip())
        return "amount", parse_vnd(text)
    except ValueError:
        fail(f"not a voucher value: {text!r} (e.g. 100.000, 100k or 10%)")


def _show(views: list[VoucherView], title: str) -> None:
    if not views:
        console.print("no vouchers")
        return
    table = Table(title=title)
    for column in ("code", "value", "customer", "campaign", "tiers", "valid", "redeemed by"):
        table.add_column(column, no_wrap=column in ("code", "value"))
    for v in views:
        table.add_row(
            v.code,
            v.label,
            v.customer_code or "anyone",
            v.campaign or "",
            ", ".join(v.tiers) or "all",
            f"{format_date(v.valid_from)} – {format_date(v.valid_until)}",
            f"{v.order_code} ({format_datetime(v.redeemed_at)})" if v.order_code else "",
        )
    console.print(table)


@app.command()
def issue(
    value: str = typer.Argument(..., help="100.000, 100k or 10%."),
    customer: list[str] = typer.Option(
        [], "--customer", help="A customer (code, phone or name); repeat for several."
    ),
    count: int = typer.Option(1, "--count", min=1, help="Codes for anyone, without --customer."),
    campaign: str | None = typer.Option(None, "--campaign", help="The campaign they belong to."),
    tier: list[str] = typer.Option([], "--tier", help="Only for this tier; repeat for several."),
    valid_from: str | None = typer.Option(None, "--from", help="First day (dd/mm/yyyy)."),
    valid_until: str | None = typer.Option(None, "--until", help="Last day (dd/mm/yyyy)."),
    reason: str | None = typer.Option(None, "--for", help="What for (e.g. 'khách VIP')."),
) -> None:
    """Issue voucher codes: one per customer named, or --count codes for anyone."""
    kind, amount = _value(value)
    start, end = parse_day(valid_from), parse_day(valid_until)

    async def body(services: Services) -> Any:
        ids = []
        for query in customer:
            found = await one_customer(services, query)
            if isinstance(found, str):
                return found
            ids.append(found.id)
        try:
            return await services.vouchers.issue(
                kind=kind,
                value=amount,
                customer_ids=ids or None,
                count=count,
                campaign=campaign,
                tiers=tier,
                valid_from=start,
                valid_until=end,
                issued_for=reason,
            )
        except VoucherProblem as exc:
            return str(exc)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    _show(result, f"{len(result)} vouchers issued")


@app.command("list")
def list_vouchers(
    campaign: str | None = typer.Option(None, "--campaign"),
    customer: str | None = typer.Option(None, "--customer"),
    redeemed: bool | None = typer.Option(None, "--redeemed/--unused"),
    limit: int = typer.Option(100, "--limit", min=1),
) -> None:
    """Vouchers issued, newest first."""

    async def body(services: Services) -> Any:
        customer_id = None
        if customer is not None:
            found = await one_customer(services, customer)
            if isinstance(found, str):
                return found
            customer_id = found.id
        return await services.vouchers.list(
            campaign=campaign, customer_id=customer_id, redeemed=redeemed, limit=limit
        )

    result = run(body)
    if isinstance(result, str):
        fail(result)
    _show(result, "Vouchers")


@app.command()
def check(
    code: str = typer.Argument(..., help="The code, typed any way."),
    customer: str | None = typer.Option(None, "--customer", help="For this customer."),
) -> None:
    """Would this code take something off an order today (of this customer)?"""

    async def body(services: Services) -> Any:
        customer_id = None
        if customer is not None:
            found = await one_customer(services, customer)
            if isinstance(found, str):
                return found
            customer_id = found.id
        return await services.vouchers.check(code, customer_id)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    if result.voucher is not None:
        _show([result.voucher], "Voucher")
    if not result.ok:
        fail(REFUSAL_TEXT[result.refusal])
    console.print(f"{result.voucher.code} is valid: {result.voucher.label} off one order")


@app.command()
def redeem(
    code: str = typer.Argument(..., help="The code."),
    order: str = typer.Argument(..., help="The order's code."),
) -> None:
    """Redeem a code by an order already imported or entered."""

    async def body(services: Services) -> Any:
        try:
            return await services.vouchers.redeem(code, order)
        except (VoucherProblem, VoucherRefused) as exc:
            return str(exc)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    console.print(f"{result.code} redeemed by order {result.order_code}", highlight=False)


@app.command()
def report(
    campaign: str | None = typer.Option(None, "--campaign"),
    since: str | None = typer.Option(None, "--since", help="Vouchers valid from this day."),
    until: str | None = typer.Option(None, "--until", help="Vouchers valid until this day."),
) -> None:
    """Issued, redeemed, and the revenue and margin of the orders that redeemed them."""
    start, end = parse_day(since), parse_day(until)

    async def body(services: Services) -> Any:
        return await services.vouchers.report(since=start, until=end, campaign=campaign)

    r = run(body)
    rate = f"{r.redemption_rate:.1%}" if r.redemption_rate is not None else "-"
    console.print(
        f"issued {r.issued}, redeemed {r.redeemed} ({rate}), expired unused {r.expired_unused}"
    )
    console.print(
        f"orders that redeemed: revenue {format_vnd(r.orders_revenue)}, margin "
        f"{format_vnd(r.orders_margin)}, vouchers took off {format_vnd(r.discount)}",
        highlight=False,
    )
    table = Table(title="By campaign")
    for column in ("campaign", "issued", "redeemed", "revenue"):
        table.add_column(column)
    for name, (issued, redeemed, revenue) in sorted(
        r.by_campaign.items(), key=lambda kv: kv[0] or ""
    ):
        table.add_row(name or "(none)", str(issued), str(redeemed), format_vnd(revenue))
    console.print(table)
