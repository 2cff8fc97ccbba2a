"""`carebot staff`: who may work tickets in the staff chat.

Being in the Telegram staff group is not enough to press a ticket's buttons: a person must
be registered here by their numeric Telegram id (the bot shows it to anyone it refuses).
"""

from __future__ import annotations

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from care.customers import StaffError, StaffMember
from care.services import Services

app = typer.Typer(help="Staff who may work tickets in the staff chat.", no_args_is_help=True)

TELEGRAM_ID = typer.Argument(..., help="The person's numeric Telegram user id.")


@app.command()
def add(
    telegram_id: int = TELEGRAM_ID,
    name: str = typer.Option(..., "--name", help="How colleagues and reports name them."),
    role: str = typer.Option("agent", "--role", help="agent or manager."),
) -> None:
    """Register someone as staff (again, if they were removed), with a name and a role."""

    async def body(services: Services) -> StaffMember | str:
        try:
            return await services.staff.add(telegram_id, name, role)
        except StaffError as exc:
            return str(exc)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    console.print(f"{result.name} ({result.role}, Telegram {result.telegram_user_id}) is staff")


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Show removed staff too."),
) -> None:
    """Everyone who may work tickets."""

    async def body(services: Services) -> list[StaffMember]:
        return await services.staff.list(include_inactive=all_)

    members = run(body)
    table = Table("Telegram id", "name", "role", "active")
    for member in members:
        table.add_row(
            str(member.telegram_user_id), member.name, member.role, "yes" if member.active else "no"
        )
    console.print(table)
    console.print(f"{len(members)} staff")


@app.command()
def remove(telegram_id: int = TELEGRAM_ID) -> None:
    """Withdraw someone's staff rights at once (the tickets they handled keep their name)."""

    async def body(services: Services) -> bool:
        return await services.staff.remove(telegram_id)

    if not run(body):
        fail(f"{telegram_id} is not active staff")
    console.print(f"{telegram_id} is no longer staff")
