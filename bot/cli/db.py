"""`carebot db`: the schema."""

from __future__ import annotations

import typer

from bot.cli.common import console, run
from care.core.db import head_revision
from care.services import Services

app = typer.Typer(
    help="Database schema: apply migrations, show the revision.", no_args_is_help=True
)


@app.command()
def upgrade() -> None:
    """Apply every migration not yet applied (other commands do this by themselves too)."""

    async def body(services: Services) -> str | None:
        return await services.db.current_revision()

    revision = run(body)
    console.print(f"database at revision {revision} (head {head_revision()})")


@app.command()
def current() -> None:
    """Show the revision the database is at."""

    async def body(services: Services) -> str | None:
        return await services.db.current_revision()

    console.print(run(body) or "empty")
