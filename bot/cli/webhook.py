"""`carebot webhook`: tell an integrator's URL of tickets, surveys and erasures.

Each event is POSTed as JSON through the outbox (retried, never lost), signed with
HMAC-SHA256 in ``X-CareBot-Signature``; `webhook log` shows every delivery attempt.
"""

from __future__ import annotations

import typer
from rich.table import Table

from bot.cli.common import console, fail, run
from care.core.text import format_datetime
from care.integration import EVENTS, DeliveryView, NewWebhook, WebhookError, WebhookView
from care.services import Services

app = typer.Typer(
    help="Webhooks: tell an integrator's URL of tickets, surveys and erasures.",
    no_args_is_help=True,
)


@app.command()
def add(
    url: str = typer.Argument(..., help="The https URL to POST events to."),
    events: str = typer.Option(..., "--events", help=f"Comma-separated: {', '.join(EVENTS)}."),
) -> None:
    """Subscribe a URL; prints the signing secret once."""

    async def body(services: Services) -> NewWebhook | str:
        try:
            return await services.webhooks.subscribe(url, events)
        except WebhookError as exc:
            return str(exc)

    made = run(body)
    if isinstance(made, str):
        fail(made)
    console.print(
        f"webhook {made.view.id}: {made.view.url} ({', '.join(made.view.events)}). "
        "Signing secret, shown only now:",
        highlight=False,
    )
    print(made.secret)


@app.command("list")
def list_() -> None:
    """Every subscription."""

    async def body(services: Services) -> list[WebhookView]:
        return await services.webhooks.subscriptions()

    table = Table("id", "url", "events", "state")
    for view in run(body):
        table.add_row(
            str(view.id), view.url, ", ".join(view.events), "active" if view.active else "ended"
        )
    console.print(table)


@app.command()
def remove(subscription_id: int = typer.Argument(..., help="The id `webhook list` shows.")) -> None:
    """End a subscription at once (what waits for it is not sent)."""

    async def body(services: Services) -> bool:
        return await services.webhooks.end(subscription_id)

    if not run(body):
        fail(f"no active webhook {subscription_id}")
    console.print(f"webhook {subscription_id} ended")


@app.command()
def log(limit: int = typer.Option(30, "--limit", min=1, max=1000)) -> None:
    """The latest delivery attempts: event, URL, HTTP status, time taken, outcome."""

    async def body(services: Services) -> tuple[list[DeliveryView], str]:
        return await services.webhooks.deliveries(limit=limit), services.settings.timezone

    deliveries, timezone = run(body)
    table = Table("when", "webhook", "event", "status", "ms", "outcome")
    for d in deliveries:
        table.add_row(
            format_datetime(d.created_at, timezone),
            str(d.subscription_id or "-"),
            d.event,
            str(d.status_code or "-"),
            str(d.milliseconds),
            "delivered" if d.delivered else (d.error or "failed"),
        )
    console.print(table)
