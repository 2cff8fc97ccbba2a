"""`carebot policy`: care policies granted to customers, and what to offer them next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from bot.cli.common import console, fail, load_settings, run
from bot.cli.common import one_customer as _one_customer
from care.core.text import format_date, format_vnd, parse_vnd
from care.customers import PolicyProblem
from care.services import Services

app = typer.Typer(
    help="Care policies: grant them, list them, see suggestions.", no_args_is_help=True
)

CUSTOMER = typer.Argument(..., help="Customer code, phone number or name.")


@app.command()
def grant(
    customer: str = CUSTOMER,
    policy: str = typer.Option(
        ...,
        "--policy",
        help="A policy key (see `policy suggest`) or free text, e.g. 'Tặng quà sinh nhật'.",
    ),
    note: str | None = typer.Option(None, "--note", help="Why, or what exactly."),
    value: str = typer.Option(
        "0", "--value", help="Its value in VND, e.g. 100.000, 500k or 1,5tr."
    ),
) -> None:
    """Record that a customer received a policy (voucher, gift, free service...)."""
    try:
        amount = parse_vnd(value)
    except ValueError as exc:
        fail(str(exc))

    async def body(services: Services) -> Any:
        found = await _one_customer(services, customer)
        if isinstance(found, str):
            return found
        try:
            await services.policies.grant(found.id, policy, value=amount, note=note)
        except PolicyProblem as exc:
            return str(exc)
        return found

    result = run(body)
    if isinstance(result, str):
        fail(result)
    console.print(
        f"granted {policy!r} ({format_vnd(amount)}) to {result.code} {result.name}", highlight=False
    )


@app.command("list")
def list_grants(
    customer: str | None = typer.Argument(
        None, help="Customer code, phone or name (default: everyone)."
    ),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """Policies granted, newest first."""

    async def body(services: Services) -> Any:
        customer_id = None
        if customer is not None:
            found = await _one_customer(services, customer)
            if isinstance(found, str):
                return found
            customer_id = found.id
        return await services.policies.granted(customer_id, limit=limit)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    if not result:
        console.print("no policy granted yet")
        return
    table = Table(title="Policies granted")
    for column in ("#", "customer", "policy", "value", "note", "granted"):
        table.add_column(column)
    for g in result:
        table.add_row(
            str(g.id),
            g.customer_code,
            g.label,
            format_vnd(g.value),
            g.note or "",
            format_date(g.granted_at),
        )
    console.print(table)


@app.command()
def suggest(customer: str = CUSTOMER) -> None:
    """What to offer a customer, by tier and RFM segment."""

    async def body(services: Services) -> Any:
        found = await _one_customer(services, customer)
        if isinstance(found, str):
            return found
        return found, await services.customer_cards.card(found.id)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    found, card = result
    tier = card.metrics.tier if card and card.metrics else None
    segment = card.metrics.segment if card and card.metrics else None
    console.print(
        f"{found.code} {found.name}: tier {tier or '—'}, segment {segment or '—'}", highlight=False
    )
    for s in card.suggested if card else []:
        console.print(f"  {s.key}: {s.label} (by {s.because})", highlight=False)


@app.command()
def tiers(
    file: Path | None = typer.Option(
        None,
        "--file",
        help="Check this file instead of CAREBOT_TIER_CARE_FILE (or the shipped one).",
    ),
) -> None:
    """Care per tier: each programme's template and gift for each tier."""
    from care.core.text import format_vnd
    from care.outreach import PROGRAMMES, TierCareProblem, load_tier_care

    settings = load_settings()
    try:
        care = load_tier_care(file or settings.tier_care_file, settings.tier_names)
    except TierCareProblem as exc:
        fail(str(exc))
    table = Table(title="Care per tier")
    for column in ("programme", "tier", "template", "gift"):
        table.add_column(column)
    for programme in PROGRAMMES:
        for tier_name, rule in getattr(care, programme).items():
            gift = rule.gift
            if gift is None:
                what = ""
            elif gift.voucher is not None:
                v = gift.voucher
                worth = f"{v.value}%" if v.kind == "percent" else format_vnd(v.value)
                what = f"voucher {worth}, {v.valid_days} days"
            else:
                what = f"{gift.policy} ({format_vnd(gift.value)})"
            table.add_row(programme, tier_name, rule.template or "(usual)", what)
    console.print(table)
