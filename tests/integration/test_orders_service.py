"""OrderService: a customer sees their own orders, and only theirs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from care.core.models import OrderLine
from care.orders.service import RECENT_ORDERS
from care.services import Services
from tests.builders import make_customer, make_order


async def add_line(services: Services, order_id: int, name: str, quantity: int, price: int):
    async with services.db.uow() as uow:
        uow.session.add(
            OrderLine(
                order_id=order_id,
                product_name=name,
                quantity=quantity,
                unit_price=price,
                amount=quantity * price,
            )
        )
        await uow.commit()


async def test_recent_orders_are_the_customers_own_newest_first(services):
    lan = await make_customer(services)
    binh = await make_customer(services)
    now = services.clock()
    old = await make_order(services, lan, code="DH-000001", placed_at=now - timedelta(days=30))
    new = await make_order(services, lan, code="DH-000002", placed_at=now - timedelta(days=1))
    await make_order(services, lan, code="YC-00001", kind="inquiry", status="open")
    await make_order(services, binh, code="DH-000003")

    recent = await services.orders.recent(lan.id)

    assert [o.code for o in recent] == [new.code, old.code]
    assert recent[0].amount == 1_250_000 and recent[0].status == "delivered"


async def test_recent_orders_are_limited(services):
    lan = await make_customer(services)
    for n in range(RECENT_ORDERS + 2):
        await make_order(services, lan, placed_at=services.clock() - timedelta(days=n))

    assert len(await services.orders.recent(lan.id)) == RECENT_ORDERS


@pytest.mark.parametrize("typed", ["DH-000777", "dh-000777", "DH000777", " dh 000777 "])
async def test_an_order_is_found_however_its_code_is_typed(services, typed):
    lan = await make_customer(services)
    order = await make_order(
        services,
        lan,
        code="DH-000777",
        delivery_date=date(2026, 11, 25),
        payment_terms="COD",
        status="shipping",
        delivered_at=None,
    )
    await add_line(services, order.id, "Nồi cơm điện", 1, 1_000_000)
    await add_line(services, order.id, "Bình giữ nhiệt", 2, 125_000)

    detail = await services.orders.by_code(lan.id, typed)

    assert detail is not None
    assert (detail.code, detail.status, detail.payment_terms) == ("DH-000777", "shipping", "COD")
    assert detail.delivery_date == date(2026, 11, 25)
    assert [(line.product_name, line.quantity, line.amount) for line in detail.lines] == [
        ("Nồi cơm điện", 1, 1_000_000),
        ("Bình giữ nhiệt", 2, 250_000),
    ]


async def test_another_customers_order_is_not_found(services):
    lan = await make_customer(services)
    binh = await make_customer(services)
    await make_order(services, binh, code="DH-000888")

    assert await services.orders.by_code(lan.id, "DH-000888") is None
    assert await services.orders.by_code(lan.id, "DH-999999") is None
    assert await services.orders.by_code(binh.id, "DH-000888") is not None


async def test_an_inquiry_is_shown_too(services):
    lan = await make_customer(services)
    await make_order(services, lan, code="YC-00012", kind="inquiry", status="quoted")

    detail = await services.orders.by_code(lan.id, "yc-00012")

    assert detail is not None and detail.kind == "inquiry"
