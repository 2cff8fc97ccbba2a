"""Order inquiries through the sandbox: the list, one order, and other people's orders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from care.core.models import Customer, OrderLine
from tests.builders import make_customer, make_order

pytestmark = pytest.mark.e2e


async def linked(bot, person, **fields) -> Customer:
    return await make_customer(bot.services, telegram_user_id=person.id, **fields)


async def shop_with_two_customers(bot):
    """Lan with two orders (one with lines), Bình with one; Lan talks to the bot."""
    lan = bot.customer("Lan")
    lan_record = await linked(bot, lan)
    binh_record = await make_customer(bot.services, name="Trần Văn Bình")
    now = bot.services.clock()
    older = await make_order(
        bot.services,
        lan_record,
        code="DH-000101",
        placed_at=now - timedelta(days=40),
        amount=350_000,
    )
    newer = await make_order(
        bot.services,
        lan_record,
        code="DH-000102",
        status="shipping",
        delivered_at=None,
        placed_at=now - timedelta(days=2),
        amount=1_250_000,
        delivery_date=date(2026, 11, 25),
        payment_terms="Thanh toán khi nhận hàng (COD)",
    )
    async with bot.services.db.uow() as uow:
        uow.session.add_all(
            [
                OrderLine(
                    order_id=newer.id,
                    product_name="Nồi cơm điện",
                    quantity=1,
                    unit_price=1_000_000,
                    amount=1_000_000,
                ),
                OrderLine(
                    order_id=newer.id,
                    product_name="Bình giữ nhiệt",
                    quantity=2,
                    unit_price=125_000,
                    amount=250_000,
                ),
            ]
        )
        await uow.commit()
    binhs = await make_order(bot.services, binh_record, code="DH-000201", amount=9_900_000)
    return lan, older, newer, binhs


async def test_orders_lists_the_customers_recent_orders(bot):
    lan, older, newer, binhs = await shop_with_two_customers(bot)

    listing = await lan.says("/orders")

    text = listing.text
    assert text.index(newer.code) < text.index(older.code)
    assert "21/11/2026" in text  # placed two days before 23/11/2026
    assert "🚚 Đang giao · 1.250.000 ₫" in text
    assert "✅ Đã giao · 350.000 ₫" in text
    assert binhs.code not in text
    assert [data for _, data in listing.buttons] == ["order:DH-000102", "order:DH-000101"]


async def test_a_detail_button_shows_the_order_with_its_lines_and_terms(bot):
    lan, *_ = await shop_with_two_customers(bot)
    await lan.says("/orders")

    detail = await lan.presses("order:DH-000102")

    assert "Đơn hàng DH-000102" in detail.text
    assert "• Nồi cơm điện × 1: 1.000.000 ₫" in detail.text
    assert "• Bình giữ nhiệt × 2: 250.000 ₫" in detail.text
    assert "Ngày giao dự kiến: 25/11/2026" in detail.text
    assert "Thanh toán khi nhận hàng (COD)" in detail.text
    assert "Tổng cộng: 1.250.000 ₫" in detail.text


async def test_order_with_a_code_and_a_typed_code_show_the_order(bot):
    lan, *_ = await shop_with_two_customers(bot)

    by_command = await lan.says("/order DH-000102")
    typed = await lan.says("dh000102")

    assert "Đơn hàng DH-000102" in by_command.text
    assert typed.text == by_command.text


async def test_someone_elses_order_looks_exactly_like_one_that_does_not_exist(bot):
    lan, _, _, binhs = await shop_with_two_customers(bot)

    not_hers = await lan.says(f"/order {binhs.code}")
    unknown = await lan.says("/order DH-999999")
    typed = await lan.says(binhs.code)

    assert not_hers.text == unknown.text == typed.text
    assert not_hers.raw_text == unknown.raw_text
    assert "9.900.000" not in not_hers.text and "không tìm thấy" in not_hers.text


async def test_order_without_a_code_says_how_to_use_it(bot):
    lan, *_ = await shop_with_two_customers(bot)

    usage = await lan.says("/order")

    assert "/order DH-000123" in usage.text


async def test_an_unlinked_customer_is_asked_to_link_first(bot):
    stranger = bot.customer("Khách")

    for asked in ("/orders", "/order DH-000102", "DH-000102"):
        answer = await stranger.says(asked)
        assert "chưa liên kết" in answer.text
        assert answer.keyboard == ["📱 Chia sẻ số điện thoại của tôi"]


async def test_a_customer_without_orders_is_told_so(bot):
    lan = bot.customer("Lan")
    await linked(bot, lan)

    assert "chưa có đơn hàng nào" in (await lan.says("/orders")).text


async def test_the_menu_button_lists_orders_in_english(bot):
    john = bot.customer("John", language="en")
    record = await linked(bot, john, language="en")
    await make_order(bot.services, record, code="DH-000301", amount=2_500_000)
    await john.says("/start")

    listing = await john.presses("menu:orders")

    assert "Your recent orders" in listing.text
    assert "✅ Delivered · 2.500.000 ₫" in listing.text
