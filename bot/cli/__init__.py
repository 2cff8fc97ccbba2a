"""The `carebot` command: one root, one sub-app per area (see each module)."""

from __future__ import annotations

import typer

from bot.cli import (
    campaign,
    customer,
    db,
    demo,
    faq,
    imports,
    loyalty,
    policy,
    report,
    run,
    scheduler,
    seed,
    segment,
    staff,
)

app = typer.Typer(
    name="carebot",
    help="CareBot: customer care by Telegram and e-mail on one CRM database.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Areas, in the order a shop meets them.
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.add_typer(db.app, name="db")
app.command("seed-demo")(seed.seed_demo_command)
app.add_typer(imports.app, name="import")
app.add_typer(faq.app, name="faq")
app.add_typer(campaign.app, name="campaign")
app.add_typer(scheduler.app, name="scheduler")
app.command("segment")(segment.segment)
app.add_typer(segment.export_app, name="export")
app.add_typer(report.app, name="report")
app.add_typer(loyalty.app, name="loyalty")
app.add_typer(policy.app, name="policy")
app.add_typer(staff.app, name="staff")
app.add_typer(customer.app, name="customer")


def main() -> None:
    app()
