"""The demo shop: the same every time, seeded once, and believable enough to demonstrate."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from care.core.models import Customer, FaqAlternate, FaqEntry, Order, OrderLine, Product, Staff
from care.io.demo import DEMO_CUSTOMER_CODE, DEMO_PHONE, generate
from care.services import Services
from tests.builders import Clock


async def counts(services: Services) -> dict[str, int]:
    async with services.db.uow() as uow:
        return {
            model.__tablename__: await uow.session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Order, OrderLine, Product, Staff, FaqEntry, FaqAlternate)
        }


async def test_seeding_writes_exactly_the_generated_shop(services: Services, clock: Clock) -> None:
    report = await services.seed_demo(customers=40, seed=3)

    shop = generate(clock.now, customers=40, seed=3)
    async with services.db.uow() as uow:
        customers = (
            await uow.session.execute(
                select(Customer.code, Customer.name, Customer.phone, Customer.birthday).order_by(
                    Customer.code
                )
            )
        ).all()
        orders = (
            await uow.session.execute(
                select(Order.code, Customer.code, Order.placed_at, Order.amount, Order.status)
                .join(Customer)
                .where(Order.code.not_like("KM-%"))  # the care demo's campaign orders
                .order_by(Order.code)
            )
        ).all()
    assert [tuple(c) for c in customers] == sorted(
        (c["code"], c["name"], c["phone"], c["birthday"]) for c in shop.customers
    )
    assert [tuple(o) for o in orders] == sorted(
        (o["code"], o["customer_code"], o["placed_at"], o["amount"], o["status"])
        for o in shop.orders
    )
    assert report.customers == 41  # the demo customer as well
    assert report.orders + report.inquiries == len(shop.orders)
    assert len(report.customer_ids) == 41


async def test_seeding_twice_adds_nothing(services: Services) -> None:
    first = await services.seed_demo(customers=60)
    before = await counts(services)

    second = await services.seed_demo(customers=60)

    assert not first.already_seeded and second.already_seeded
    assert (second.customers, second.orders, second.staff, second.faq_created) == (0, 0, 0, 0)
    assert await counts(services) == before


async def test_the_faq_has_forty_six_entries_in_both_languages_with_alternates(
    services: Services,
) -> None:
    await services.seed_demo(customers=0)

    entries = await services.faq.entries()

    assert len(entries) == 46
    assert Counter(entry.language for entry in entries) == {"vi": 23, "en": 23}
    assert all(2 <= len(entry.alternates) <= 4 for entry in entries)
    vietnamese = [e for e in entries if e.language == "vi"]
    assert all(any(not ch.isascii() for ch in e.question + e.answer) for e in vietnamese)
    answer = await services.faq.ask("gio mo cua luc may gio", "vi")
    assert answer.entry is not None and answer.entry.category == "store"


async def test_the_demo_customer_has_something_to_show(services: Services, clock: Clock) -> None:
    await services.seed_demo(customers=10)

    async with services.db.uow() as uow:
        demo = await uow.session.scalar(select(Customer).where(Customer.code == DEMO_CUSTOMER_CODE))
        assert demo is not None
        orders = (
            await uow.session.scalars(
                select(Order).where(Order.customer_id == demo.id).order_by(Order.placed_at)
            )
        ).all()
        assert (demo.phone, demo.telegram_user_id) == (DEMO_PHONE, None)
        statuses = [order.status for order in orders if order.kind == "order"]
        recent = [
            order
            for order in orders
            if order.delivered_at and clock.now - order.delivered_at <= timedelta(days=3)
        ]
    assert len(orders) >= 5
    assert "shipping" in statuses
    assert recent, "one order was delivered in the last days"


async def test_after_seeding_the_demo_customer_has_a_tier_and_a_lifetime_value(
    services: Services,
) -> None:
    """Staff see real values on the demo customer's card from the first message."""
    first = await services.seed_demo()  # the demo's own size: enough buyers to fit the CLV

    [demo] = await services.customer_cards.find(DEMO_CUSTOMER_CODE)
    card = await services.customer_cards.card(demo.id)
    again = await services.seed_demo()

    assert first.segmentation is not None and sum(first.segmentation.tiers.values()) == 301
    assert card is not None and card.metrics is not None
    assert card.metrics.tier in services.settings.tier_names
    assert card.metrics.segment is not None
    assert card.metrics.frequency >= 4 and card.metrics.historical_ltv > 0
    assert card.metrics.clv_12m is not None and card.metrics.clv_12m > 0
    assert again.segmentation is None  # already computed; the nightly job keeps it fresh


def test_the_seed_demo_command_reports_what_it_added(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    runner = CliRunner()

    first = runner.invoke(app, ["seed-demo", "--customers", "20", "--seed", "5"])
    second = runner.invoke(app, ["seed-demo", "--customers", "20"])

    assert first.exit_code == 0, first.output
    assert "added 21 customers" in first.output
    assert "FAQ entries created 46" in first.output
    assert "segmentation computed: diamond" in first.output
    assert second.exit_code == 0 and "already there" in second.output
    assert "segmentation computed" not in second.output
