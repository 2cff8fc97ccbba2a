"""Purchase habits are derived from what the customer bought and how they write, stored on
the record, and shown on the staff card."""

import json
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import Customer, Interaction, OrderLine, Product
from tests.builders import database_env, make_customer, make_order, with_services


async def shop(services):
    lan = await make_customer(services, code="KH-H1")
    async with services.db.uow() as uow:
        sofa = Product(code="SF1", name="Sofa góc", category="Sofa", price=9_000_000)
        lamp = Product(code="DN1", name="Đèn bàn", category="Đèn", price=500_000)
        uow.session.add_all([sofa, lamp])
        await uow.commit()
    # 19:00 local is 12:00 UTC
    for amount, day, product, quantity in (
        (1_000_000, 1, lamp, 2),
        (2_000_000, 5, lamp, 1),
        (9_000_000, 9, sofa, 1),
    ):
        order = await make_order(
            services, lan, amount=amount, placed_at=datetime(2026, 10, day, 12, tzinfo=UTC)
        )
        async with services.db.uow() as uow:
            uow.session.add(
                OrderLine(
                    order_id=order.id,
                    product_id=product.id,
                    product_name=product.name,
                    quantity=quantity,
                    amount=amount,
                )
            )
            await uow.commit()
    await make_order(services, lan, amount=50_000_000, status="cancelled")
    async with services.db.uow() as uow:
        for channel in ("telegram", "telegram", "email"):
            uow.session.add(
                Interaction(customer_id=lan.id, channel=channel, direction="in", text="…")
            )
        await uow.commit()
    return lan


async def test_habits_come_from_purchases_and_conversations(services):
    lan = await shop(services)
    habits = await services.habits.of(lan.id)
    assert habits.orders == 3  # the cancelled order is no purchase
    assert habits.categories == ["Đèn", "Sofa"]  # three lamps, one sofa
    assert habits.basket == 2_000_000 and habits.items == 1
    assert (habits.channel, habits.hour) == ("telegram", 19)
    card = await services.customer_cards.card(lan.id)
    assert card.habits == habits
    text = services.renderer.chat(
        "vi",
        "staff_customer",
        c=card,
        p=card.profile,
        m=None,
        kind="",
        tier="",
        segment="",
        csat="",
        nps="",
        habits_items="1",
    )
    assert "hay mua Đèn, Sofa" in text and "giỏ thường 2.000.000 ₫" in text
    assert "hay đặt khoảng 19 giờ" in text


async def test_refreshing_stores_the_habits_of_every_buyer(services):
    lan = await shop(services)
    await make_customer(services)  # bought nothing: nothing to store
    assert await services.habits.refresh() == 1
    async with services.db.uow() as uow:
        stored = await uow.session.scalar(
            select(Customer.purchase_habits).where(Customer.id == lan.id)
        )
    assert json.loads(stored)["categories"] == ["Đèn", "Sofa"]


def test_the_habits_command_shows_one_customer_or_refreshes_all(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    with_services(settings, shop)
    runner = CliRunner()
    one = runner.invoke(cli, ["customer", "habits", "KH-H1"])
    assert one.exit_code == 0, one.output
    assert "favourite Đèn, Sofa" in one.output and "19:00" in one.output
    every = runner.invoke(cli, ["customer", "habits"])
    assert "purchase habits of 1 customers refreshed" in every.output
    nobody = runner.invoke(cli, ["customer", "habits", "KH-NOPE"])
    assert nobody.exit_code == 1 and "no customer matches" in nobody.output
