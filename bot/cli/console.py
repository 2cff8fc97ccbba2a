"""`carebot console`: the web console from the terminal, for the first sign-in or when
Telegram is down."""

from __future__ import annotations

import typer

from bot.cli.common import console, fail, run
from care.services import Services

app = typer.Typer(help="The web console: sign-in links.", no_args_is_help=True)


@app.command("login-link")
def login_link(
    telegram_id: int = typer.Argument(..., help="The staff member's numeric Telegram user id."),
) -> None:
    """Print a one-time sign-in link to the console (15 minutes, single use) for a staff
    member; the bot sends the same link to staff who write /console to it."""

    async def body(services: Services) -> str | None:
        return await services.console.login_link(telegram_id)

    link = run(body)
    if link is None:
        fail(f"{telegram_id} is not active staff; add them first with `carebot staff add`")
    console.print(link, highlight=False, soft_wrap=True)
