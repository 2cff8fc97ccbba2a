"""`carebot seed-demo`: a believable demo shop in the database."""

from __future__ import annotations

import typer

from bot.cli.common import console, run
from care.io import SeedReport
from care.services import Services


def seed_demo_command(
    customers: int = typer.Option(300, min=0, help="How many customers to invent."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same shop."),
) -> None:
    """Fill the database with demo customers, two years of orders, staff and the FAQ.

    Running it again adds nothing. Meant for a demo or test database, not a shop's own.
    """

    async def body(services: Services) -> SeedReport:
        return await services.seed_demo(customers=customers, seed=seed)

    report = run(body)
    if report.already_seeded:
        console.print("demo customers and orders are already there; nothing added")
    else:
        console.print(
            f"added {report.customers} customers, {report.orders} orders, "
            f"{report.inquiries} inquiries, {report.products} products"
        )
    console.print(
        f"staff added: {report.staff}; FAQ entries created {report.faq_created}, "
        f"updated {report.faq_updated}"
    )
    if report.segmentation is not None:
        tiers = ", ".join(f"{name} {count}" for name, count in report.segmentation.tiers.items())
        console.print(f"segmentation computed: {tiers}", highlight=False)
