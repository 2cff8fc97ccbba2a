"""`carebot api-key`: the keys the shop's systems call the HTTP API (/api/v1) with.

A key is printed once, when it is made; only its hash is kept, so a lost key is revoked
and replaced, never shown again.
"""

from __future__ import annotations

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from care.core.text import format_datetime
from care.integration import SCOPES, ApiKeyError, ApiKeyView, NewApiKey
from care.services import Services

app = typer.Typer(
    help="API keys for the shop's systems (the HTTP API at /api/v1).", no_args_is_help=True
)

NAME = typer.Argument(..., help="A name for the system using the key, e.g. haravan or erp.")


@app.command()
def create(
    name: str = NAME,
    scopes: str = typer.Option(
        ...,
        "--scopes",
        help=f"Comma-separated, from: {', '.join(SCOPES)}.",
    ),
) -> None:
    """Make a key and print it once (only its hash is stored)."""

    async def body(services: Services) -> NewApiKey | str:
        try:
            return await services.api_keys.create(name, scopes)
        except ApiKeyError as exc:
            return str(exc)

    result = run(body)
    if isinstance(result, str):
        fail(result)
    console.print(
        f"API key '{result.view.name}' ({', '.join(result.view.scopes)}). "
        "It is shown only now: store it in the calling system.",
        highlight=False,
    )
    # The key alone on its line, without markup or wrapping, so it copies whole.
    print(result.key)


@app.command("list")
def list_() -> None:
    """Every key: name, scopes, when made and last used, revoked or not (never the key)."""

    async def body(services: Services) -> tuple[list[ApiKeyView], str]:
        return await services.api_keys.list(), services.settings.timezone

    keys, timezone = run(body)
    table = Table("name", "prefix", "scopes", "created", "last used", "state")
    for key in keys:
        table.add_row(
            key.name,
            f"cbk_{key.prefix}_…",
            ", ".join(key.scopes),
            format_datetime(key.created_at, timezone),
            format_datetime(key.last_used_at, timezone) if key.last_used_at else "-",
            "active" if key.active else f"revoked {format_datetime(key.revoked_at, timezone)}",
        )
    console.print(table)
    console.print(f"{sum(key.active for key in keys)} active, {len(keys)} in all")


@app.command()
def revoke(name: str = NAME) -> None:
    """Revoke a key at once: its next request gets 401."""

    async def body(services: Services) -> ApiKeyView | None:
        return await services.api_keys.revoke(name)

    if run(body) is None:
        fail(f"no active API key named '{name}'")
    console.print(f"API key '{name}' revoked")
