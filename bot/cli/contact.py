"""`carebot contact`: calls, visits and meetings with customers, and the care schedule."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from bot.cli.common import console, fail, one_customer, run
from care.core.text import format_date, format_datetime, parse_date, parse_local_datetime
from care.customers import ContactProblem, ContactView, StaffMember
from care.services import Services

app = typer.Typer(
    help="Contacts with customers (calls, visits, meetings) and the care schedule by tier.",
    no_args_is_help=True,
)

CUSTOMER = typer.Argument(..., help="Customer code, phone number or name.")
KIND = typer.Option("call", "--kind", help="call, visit, meeting, message or note.")
STAFF = typer.Option(None, "--staff", help="Staff member: Telegram user id or name.")


async def _staff(services: Services, ref: str | None) -> StaffMember | str | None:
    if ref is None:
        return None
    member = await services.staff.find(ref)
    return member if member is not None else f"no active staff member {ref!r}"


def _show(views: list[ContactView], title: str) -> None:
    if not views:
        console.print("no contacts")
        return
    table = Table(title=title)
    for column in ("#", "when", "customer", "kind", "status", "staff", "why", "note / outcome"):
        table.add_column(column)
    for v in views:
        table.add_row(
            str(v.id),
            format_datetime(v.at),
            f"{v.customer_code} {v.customer_name}",
            v.kind,
            v.status,
            v.staff_name or "—",
            v.reason,
            " · ".join(t for t in (v.note, v.outcome) if t),
        )
    console.print(table)


def _done(result: Any) -> ContactView:
    if isinstance(result, str):
        fail(result)
    assert isinstance(result, ContactView)
    return result


@app.command()
def log(
    customer: str = CUSTOMER,
    kind: str = KIND,
    note: str | None = typer.Option(None, "--note", help="What was said."),
    outcome: str | None = typer.Option(None, "--outcome", help="What came of it."),
    staff: str | None = STAFF,
    at: str | None = typer.Option(None, "--at", help="When (dd/mm/yyyy HH:MM); default now."),
) -> None:
    """Record a contact that took place."""

    async def body(services: Services) -> Any:
        found = await one_customer(services, customer)
        if isinstance(found, str):
            return found
        member = await _staff(services, staff)
        if isinstance(member, str):
            return member
        try:
            when = parse_local_datetime(at, services.settings.timezone) if at else None
            return await services.contacts.log(
                found.id,
                kind=kind,
                note=note,
                outcome=outcome,
                staff_id=member.id if member else None,
                at=when,
            )
        except (ContactProblem, ValueError) as exc:
            return str(exc)

    view = _done(run(body))
    console.print(
        f"recorded #{view.id}: {view.kind} with {view.customer_code} {view.customer_name} "
        f"at {format_datetime(view.at)}",
        highlight=False,
    )


@app.command()
def plan(
    customer: str = CUSTOMER,
    at: str = typer.Option(..., "--at", help="When (dd/mm/yyyy HH:MM)."),
    kind: str = KIND,
    note: str | None = typer.Option(None, "--note", help="What to talk about."),
    staff: str | None = typer.Option(
        None, "--staff", help="Who (Telegram user id or name); default the account manager."
    ),
) -> None:
    """Plan a contact; the staff member is reminded on Telegram at its time."""

    async def body(services: Services) -> Any:
        found = await one_customer(services, customer)
        if isinstance(found, str):
            return found
        member = await _staff(services, staff)
        if isinstance(member, str):
            return member
        try:
            when = parse_local_datetime(at, services.settings.timezone)
            return await services.contacts.plan(
                found.id,
                due_at=when,
                kind=kind,
                note=note,
                staff_id=member.id if member else None,
            )
        except (ContactProblem, ValueError) as exc:
            return str(exc)

    view = _done(run(body))
    who = view.staff_name or "nobody yet (no account manager: use --staff)"
    console.print(
        f"planned #{view.id}: {view.kind} with {view.customer_code} {view.customer_name} "
        f"at {format_datetime(view.at)}, for {who}",
        highlight=False,
    )


@app.command()
def done(
    contact_id: int = typer.Argument(..., help="The planned contact's number."),
    outcome: str = typer.Option(..., "--outcome", help="How it went."),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """A planned contact took place: record how it went (its reminder is withdrawn)."""

    async def body(services: Services) -> Any:
        try:
            return await services.contacts.complete(contact_id, outcome=outcome, note=note)
        except ContactProblem as exc:
            return str(exc)

    view = _done(run(body))
    console.print(f"#{view.id} done: {view.outcome}", highlight=False)


@app.command()
def cancel(contact_id: int = typer.Argument(..., help="The planned contact's number.")) -> None:
    """Cancel a planned contact (its reminder is withdrawn)."""

    async def body(services: Services) -> Any:
        try:
            return await services.contacts.cancel(contact_id)
        except ContactProblem as exc:
            return str(exc)

    view = _done(run(body))
    console.print(f"#{view.id} cancelled", highlight=False)


@app.command("list")
def list_contacts(
    customer: str | None = typer.Argument(None, help="Customer code, phone or name."),
    staff: str | None = STAFF,
    planned: bool = typer.Option(False, "--planned", help="Only contacts still to make."),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """Contacts, newest first (planned ones soonest first)."""

    async def body(services: Services) -> Any:
        customer_id = None
        if customer is not None:
            found = await one_customer(services, customer)
            if isinstance(found, str):
                return found
            customer_id = found.id
        member = await _staff(services, staff)
        if isinstance(member, str):
            return member
        return await services.contacts.list(
            customer_id=customer_id,
            staff_id=member.id if member else None,
            status="planned" if planned else None,
            limit=limit,
        )

    result = run(body)
    if isinstance(result, str):
        fail(result)
    _show(result, "Planned contacts" if planned else "Contacts")


@app.command()
def week(
    start: str | None = typer.Option(
        None, "--from", help="A day of the week to plan (dd/mm/yyyy); default this week."
    ),
) -> None:
    """Book the week's care contacts by tier (diamond every 30 days, gold every 90...) for
    each customer's account manager, and show the plan per staff member."""
    try:
        day = parse_date(start) if start else None
    except ValueError as exc:
        fail(str(exc))

    async def body(services: Services) -> Any:
        return await services.contacts.plan_week(day)

    plan_ = run(body)
    console.print(
        f"week of {format_date(plan_.week_start)}: {plan_.planned} contacts booked now, "
        f"{plan_.total} planned in all",
        highlight=False,
    )
    for name, views in sorted(plan_.by_staff.items(), key=lambda kv: kv[0] or ""):
        _show(views, f"{name or 'nobody (no staff registered)'}: {len(views)}")


@app.command()
def assign(
    customer: str = CUSTOMER,
    staff: str = typer.Argument(..., help="Staff member: Telegram user id or name."),
) -> None:
    """Make a staff member the customer's account manager."""

    async def body(services: Services) -> Any:
        found = await one_customer(services, customer)
        if isinstance(found, str):
            return False, found
        member = await _staff(services, staff)
        if member is None or isinstance(member, str):
            return False, member or "name a staff member"
        try:
            await services.contacts.assign(found.id, member.id)
        except ContactProblem as exc:
            return False, str(exc)
        return True, f"{member.name} now looks after {found.code} {found.name}"

    ok, message = run(body)
    if not ok:
        fail(message)
    console.print(message, highlight=False)


@app.command()
def slipping() -> None:
    """Look for top-tier customers who slipped (at-risk, or CLV falling): alert the staff
    chat and plan a call for their account manager (the scheduler does this daily)."""

    async def body(services: Services) -> Any:
        return await services.slipping.scan()

    alerts = run(body)
    console.print(f"{len(alerts)} top-tier customers slipping")
    for alert in alerts:
        why = "moved into an at-risk segment" if alert.reason == "segment" else "CLV fell"
        planned = f", call #{alert.contact_id} planned" if alert.contact_id else ""
        console.print(f"  {alert.customer_code}: {why}{planned}", highlight=False)
