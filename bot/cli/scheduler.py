"""`carebot scheduler`: the care programme's jobs, and running its scans and dispatcher by hand."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from bot.cli.common import console, run
from care.core.text import format_datetime, to_local
from care.outreach import outbox_backlog, scheduled_campaigns

if TYPE_CHECKING:
    from telegram import Bot

    from care.services import Services

app = typer.Typer(
    help="The care programme's schedule: list jobs, run the scans, drain the outbox.",
    no_args_is_help=True,
)


def telegram_bot(services: Services) -> Bot:
    """A Bot from the settings, for sending without the bot process (token required)."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    settings = services.settings
    pool = settings.telegram_send_concurrency + 2
    return Bot(
        settings.token(),
        base_url=settings.telegram_base_url,
        request=HTTPXRequest(connection_pool_size=pool),
    )


@app.command()
def jobs() -> None:
    """List the jobs with their next run, scheduled campaigns and what waits in the outbox."""
    from scheduler.setup import build_scheduler, next_runs

    async def body(services: Services) -> None:
        tz = services.settings.timezone
        now = to_local(services.clock(), tz)
        table = Table(title=f"Jobs (time zone {tz})")
        for column in ("job", "what", "when", "next run"):
            table.add_column(column)
        for job_id, name, trigger, next_time in next_runs(build_scheduler(services), now):
            table.add_row(job_id, name, trigger, _when(next_time, tz))
        console.print(table)

        campaigns = await scheduled_campaigns(services.db)
        waiting = await outbox_backlog(services.db)
        if campaigns:
            later = Table(title="Scheduled campaigns")
            for column in ("campaign", "starts at"):
                later.add_column(column)
            for campaign in campaigns:
                later.add_row(campaign.name, _when(campaign.scheduled_at, tz))
            console.print(later)
        for open_rows in waiting:
            console.print(
                f"outbox: {open_rows.count} {open_rows.status},"
                f" the earliest due {_when(open_rows.earliest, tz)}"
            )

    run(body)


@app.command()
def scan() -> None:
    """Run every care scan once now (thanks, surveys, greetings, newsletter, win-back,
    scheduled campaigns) and show what each queued."""

    async def body(services: Services) -> None:
        for name, report in (await services.care.run_all()).items():
            console.print(f"{name}: {report}", highlight=False)

    run(body)


@app.command()
def dispatch(
    email_only: bool = typer.Option(
        False, "--email-only", help="Send only e-mail (no bot token needed)."
    ),
) -> None:
    """Send everything due in the outbox now, then stop (the bot does this continuously)."""
    from scheduler.dispatcher import Dispatcher

    async def body(services: Services) -> None:
        if email_only:
            dispatcher = Dispatcher.create(services, None)
            report = await dispatcher.drain()
            await dispatcher.close()
        else:
            async with telegram_bot(services) as bot:
                dispatcher = Dispatcher.create(services, bot)
                report = await dispatcher.drain()
                await services.care.campaigns.finish_done()
                report.update(await dispatcher.drain())
                await dispatcher.close()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(report.items()) if v) or "nothing due"
        console.print(summary, highlight=False)

    run(body)


def _when(value: datetime | None, tz: str) -> str:
    return format_datetime(value, tz) if value is not None else "-"
