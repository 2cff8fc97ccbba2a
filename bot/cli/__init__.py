"""The `carebot` command: one root, one sub-app per area (see each module).

The areas are imported only when used (see ``bot.cli.lazy``), so `carebot --help` and the
light commands start in a fraction of a second instead of loading the bot, the models and
the charts first.
"""

from __future__ import annotations

import typer

from bot.cli.lazy import LazyCommand, LazyGroup


class CarebotCommands(LazyGroup):
    """The areas, in the order a shop meets them."""

    lazy_commands = (
        LazyCommand(
            "demo",
            "bot.cli.demo:demo",
            "Chat with the bot as a demo customer, in the terminal, with nothing configured.",
        ),
        LazyCommand(
            "run",
            "bot.cli.run:run",
            "Serve the bot with long polling (or a webhook) until Ctrl+C.",
        ),
        LazyCommand(
            "db", "bot.cli.db:app", "Database schema: apply migrations, show the revision."
        ),
        LazyCommand(
            "seed-demo",
            "bot.cli.seed:seed_demo_command",
            "Fill the database with demo customers, two years of orders, staff and the FAQ.",
        ),
        LazyCommand(
            "import",
            "bot.cli.imports:app",
            "Import customers, orders and products from CSV (UTF-8, , or ;) or XLSX files. "
            "A file with any bad row imports nothing.",
        ),
        LazyCommand("faq", "bot.cli.faq:app", "FAQ entries and unanswered questions."),
        LazyCommand(
            "campaign",
            "bot.cli.campaign:app",
            "Campaigns: tier promotions, newsletters, announcements.",
        ),
        LazyCommand(
            "scheduler",
            "bot.cli.scheduler:app",
            "The care programme's schedule: list jobs, run the scans, drain the outbox.",
        ),
        LazyCommand(
            "segment",
            "bot.cli.segment:segment",
            "Recompute RFM segments, lifetime value, 12-month CLV and tiers of every customer.",
        ),
        LazyCommand("export", "bot.cli.segment:export_app", "Export data to CSV or XLSX files."),
        LazyCommand(
            "report",
            "bot.cli.report:app",
            "Reports: the HTML management report (the default) and others.",
        ),
        LazyCommand(
            "loyalty",
            "bot.cli.loyalty:app",
            "Loyalty: watch competitor campaigns, list the customers they pull away.",
        ),
        LazyCommand(
            "policy",
            "bot.cli.policy:app",
            "Care policies: grant them, list them, see suggestions.",
        ),
        LazyCommand(
            "voucher",
            "bot.cli.voucher:app",
            "Vouchers: issue codes per campaign or customer, check and redeem them, report.",
        ),
        LazyCommand(
            "contact",
            "bot.cli.contact:app",
            "Contacts with customers (calls, visits, meetings) and the care schedule by tier.",
        ),
        LazyCommand("staff", "bot.cli.staff:app", "Staff who may work tickets in the staff chat."),
        LazyCommand("console", "bot.cli.console:app", "The web console: sign-in links."),
        LazyCommand(
            "api-key",
            "bot.cli.api_key:app",
            "API keys for the shop's systems (the HTTP API at /api/v1).",
        ),
        LazyCommand(
            "webhook",
            "bot.cli.webhook:app",
            "Webhooks: tell an integrator's URL of tickets, surveys and erasures.",
        ),
        LazyCommand(
            "customer",
            "bot.cli.customer:app",
            "A customer's record: erase it on request (`customer forget CODE`), purchase habits.",
        ),
    )


app = typer.Typer(
    name="carebot",
    cls=CarebotCommands,
    help="CareBot: customer care by Telegram and e-mail on one CRM database.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def carebot() -> None:
    """The root: every command is an area listed in ``CarebotCommands``."""


def main() -> None:
    app()
