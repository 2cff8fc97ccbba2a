"""`carebot customer`: a customer's rights exercised outside Telegram.

A customer who asks by letter, by e-mail or at the counter to have their personal data
erased gets the same erasure as /forgetme in the bot (care.customers.erasure). The command
shows whom it is about to erase and asks before it does (``--yes`` skips the question,
for scripts).
"""

from __future__ import annotations

from typing import Any

import typer

from bot.cli.common import console, fail, load_settings, run
from care.core.text import format_date, format_phone
from care.customers import CustomerView, Erased
from care.services import Services

app = typer.Typer(
    help="A customer's record: erase it on request (`customer forget CODE`), purchase habits.",
    no_args_is_help=True,
)


@app.command()
def forget(
    code: str = typer.Argument(..., help="The customer's code, e.g. KH-0042."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Erase without asking first."),
) -> None:
    """Erase a customer's personal data everywhere; orders stay, without identity."""
    settings = load_settings()

    async def find(services: Services) -> CustomerView | None:
        return await services.customers.by_code(code)

    customer = run(find, settings)
    if customer is None:
        fail(f"no customer has the code {code!r}")
    if customer.erased_at is not None:
        console.print(
            f"{customer.code} was erased on {format_date(customer.erased_at, settings.timezone)};"
            " nothing left to erase",
            highlight=False,
        )
        return
    contact = ", ".join(
        value
        for value in (format_phone(customer.phone) if customer.phone else None, customer.email)
        if value
    )
    console.print(
        f"{customer.code}: {customer.name}" + (f" ({contact})" if contact else ""),
        highlight=False,
        markup=False,
    )
    if not yes and not typer.confirm(
        "Erase this customer's personal data? This cannot be undone", default=False
    ):
        fail("nothing was erased")

    async def erase(services: Services) -> Erased | None:
        return await services.customers.forget_by_code(code)

    erased = run(erase, settings)
    if erased is None:  # erased by someone else between the question and the answer
        console.print(f"{customer.code} was erased already")
        return
    console.print(
        f"{erased.customer_code} erased: {erased.interactions} logged messages,"
        f" {erased.tickets} tickets, {erased.outbox_rows} outbox messages,"
        f" {erased.mentions} texts naming them elsewhere, {len(erased.files)} e-mail files;"
        f" {erased.staff_chat_edits} staff-chat messages will be edited by `carebot run`",
        highlight=False,
    )


@app.command()
def habits(
    customer: str | None = typer.Argument(
        None, help="Customer code, phone or name (default: refresh every buyer)."
    ),
) -> None:
    """Derive purchase habits (favourite categories, usual basket, preferred channel and
    hour) and store them on the record: one customer's shown, or every buyer's refreshed."""
    from bot.cli.common import one_customer
    from care.core.text import format_vnd

    async def body(services: Services) -> Any:
        if customer is None:
            return await services.habits.refresh()
        found = await one_customer(services, customer)
        if isinstance(found, str):
            return found
        await services.habits.refresh([found.id])
        return found, await services.habits.of(found.id)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    if isinstance(result, int):
        console.print(f"purchase habits of {result} customers refreshed")
        return
    found, h = result
    if h is None:
        console.print(f"{found.code} {found.name} has not bought yet", highlight=False)
        return
    console.print(
        f"{found.code} {found.name}: {h.orders} orders; favourite "
        f"{', '.join(h.categories) or '-'}; usual basket {format_vnd(h.basket)} "
        f"({h.items:g} items); writes by {h.channel or '-'}; orders around "
        f"{f'{h.hour}:00' if h.hour is not None else '-'}",
        highlight=False,
    )
