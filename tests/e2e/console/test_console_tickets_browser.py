"""Ticket work in the browser: a reply typed in the console reaches the customer on Telegram
through the same relay as the staff chat, and the staff chat sees it under the card."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import make_customer
from tests.e2e.conftest import Harness
from tests.e2e.console.conftest import SignIn, shoot
from tests.e2e.test_staff_chat import filed_ticket

pytestmark = pytest.mark.e2e


async def test_a_reply_from_the_console_reaches_the_customer(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    lan, _, ticket, _card = await filed_ticket(bot, text="Hàng giao trễ ba ngày")
    minh = await bot.staff_member("Minh")
    await sign_in(page, minh.id)
    await page.goto(f"{console}/console/tickets")
    await shoot(page, "tickets")
    await page.get_by_role("link", name=ticket.code).click()
    assert "Hàng giao trễ ba ngày" in await page.inner_text("#conversation")
    reply_form = page.locator('form[action*="/reply"]')
    action = await reply_form.get_attribute("action")
    csrf = await reply_form.locator("input[name=csrf]").input_value()
    await page.get_by_label("Lời nhắn gửi khách").fill("Dạ, shop gửi lại hàng trong hôm nay ạ.")
    await page.get_by_role("button", name="Gửi").click()
    await page.wait_for_url(f"**/console/tickets/{ticket.code}?done=reply")
    answer = await lan.next_message(timeout=10)
    assert "shop gửi lại hàng trong hôm nay" in answer.text and "Minh" in answer.text
    in_staff_chat = await bot.sandbox.wait_for(
        bot.staff_chat, lambda m: "bảng điều khiển" in m.text, timeout=10
    )
    assert ticket.code in in_staff_chat.text
    assert "shop gửi lại hàng trong hôm nay" in await page.inner_text("#conversation")
    await shoot(page, "ticket")
    # The same form posted again (a double click, a resend) changes nothing twice.
    again = await page.request.post(
        f"{console}{action}", form={"csrf": csrf, "text": "Dạ, shop gửi lại hàng trong hôm nay ạ."}
    )
    assert again.ok and "already" in again.url
    await bot.sandbox.wait_idle(quiet=0.5)
    assert sum("gửi lại hàng" in m.text for m in lan.messages) == 1


async def test_a_customer_is_found_by_phone(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    await make_customer(bot.services, name="Nguyễn Thị Lan", phone="+84912345678", region="Hà Nội")
    await make_customer(bot.services, name="Trần Văn Bình", phone="+84987654321")
    minh = await bot.staff_member("Minh")
    await sign_in(page, minh.id)
    await page.goto(f"{console}/console/customers")
    await page.get_by_label("Tìm khách hàng").fill("0912 345 678")
    await page.get_by_role("button", name="Tìm").click()
    await page.get_by_role("link", name="KH", exact=False).first.wait_for()
    results = await page.inner_text("#results")
    assert "Nguyễn Thị Lan" in results and "Trần Văn Bình" not in results
    await shoot(page, "customers")
    await page.locator("#results a").first.click()
    await page.wait_for_url("**/console/customers/KH*")
    assert "Nguyễn Thị Lan" in await page.inner_text("h1")
    await shoot(page, "customer")
