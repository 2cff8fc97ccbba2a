"""Vouchers in the staff chat: /voucher CODE checks it, /voucher CODE ORDER redeems it."""

import pytest

from tests.builders import make_customer, make_order

pytestmark = pytest.mark.e2e


async def test_staff_check_and_redeem_a_voucher_and_a_second_use_is_refused(bot):
    minh = await bot.staff_member("Minh")
    services = bot.services
    lan = await make_customer(services, code="KH88001")
    nam = await make_customer(services, code="KH88002")
    now = services.clock()
    await make_order(services, lan, code="DH88001", placed_at=now)
    await make_order(services, nam, code="DH88002", placed_at=now)
    [voucher] = await services.vouchers.issue(kind="amount", value=150_000, customer_ids=[lan.id])

    await minh.says_in(bot.staff_chat, f"/voucher {voucher.code.lower()}")
    valid = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "còn hiệu lực" in m.text)
    assert "150.000 ₫" in valid.text and "KH88001" in valid.text
    await minh.says_in(bot.staff_chat, f"/voucher {voucher.code} DH88002")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "là của khách khác" in m.text)
    await minh.says_in(bot.staff_chat, f"/voucher {voucher.code} DH88001")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Đã dùng mã" in m.text, timeout=15)
    await minh.says_in(bot.staff_chat, f"/voucher {voucher.code}")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "đã được dùng cho đơn khác" in m.text)
    [used] = await services.vouchers.list(redeemed=True)
    assert used.order_code == "DH88001"
