"""The console in a real browser: signing in with a login link from the bot, what an agent
may not open, and forms that refuse a request without their CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Harness
from tests.e2e.console.conftest import SignIn, shoot

pytestmark = pytest.mark.e2e


async def test_a_staff_member_asks_the_bot_for_a_link_and_signs_in(
    bot: Harness, console: str, page: Any
) -> None:
    minh = await bot.staff_member("Minh", role="manager")
    answer = await minh.says("/console")
    link = re.search(r"http://\S+/console/login\?token=\S+", answer.text)
    assert link is not None, answer.text
    await page.goto(link.group(0))
    await shoot(page, "login-confirm")
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(f"{console}/console/")
    assert "Minh" in await page.inner_text("header")
    await shoot(page, "dashboard")
    # The same link again, in another browser: refused.
    other = await page.context.browser.new_context()
    tab = await other.new_page()
    response = await tab.goto(link.group(0))
    assert response is not None and response.status == 400
    assert "đã được dùng" in await tab.inner_text("main")
    await shoot(tab, "login-refused")
    await other.close()


async def test_an_agent_is_refused_a_managers_page(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    minh = await bot.staff_member("Minh", role="agent")
    await sign_in(page, minh.id)
    response = await page.goto(f"{console}/console/staff")
    assert response is not None and response.status == 403
    assert "chỉ dành cho quản lý" in await page.inner_text("main")
    await shoot(page, "forbidden")


async def test_a_post_without_the_csrf_token_is_refused(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.goto(f"{console}/console/staff")
    await shoot(page, "staff")
    # The same form, its token taken out, as a page on another site would post it.
    await page.evaluate(
        "document.querySelector('form[action=\"/console/staff\"] input[name=csrf]').remove()"
    )
    await page.fill("#f-telegram_id", "777")
    await page.fill("#f-name", "Kẻ lạ")
    await page.get_by_role("button", name="Lưu").click()
    assert "Yêu cầu bị từ chối" in await page.inner_text("main")
    assert await bot.services.staff.get(777) is None


async def test_a_manager_adds_staff_with_a_typo_first(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.goto(f"{console}/console/staff")
    await page.fill("#f-telegram_id", "12ab")
    await page.fill("#f-name", "Trang")
    await page.get_by_role("button", name="Lưu").click()
    assert await page.get_attribute("#f-telegram_id", "aria-invalid") == "true"
    assert await page.input_value("#f-name") == "Trang"  # what was typed is kept
    await shoot(page, "staff-error")
    await page.fill("#f-telegram_id", "424242")
    await page.get_by_role("button", name="Lưu").click()
    await page.wait_for_url(re.compile(r"done=added"))
    assert (await bot.services.staff.get(424242)) is not None
    await page.goto(f"{console}/console/audit")
    assert "staff.add" in await page.inner_text("main")
    await shoot(page, "audit")


async def test_the_dashboard_of_the_demo_shop(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    await bot.services.seed_demo(customers=80)
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    assert "Khách hàng theo hạng" in await page.inner_text("main")
    await shoot(page, "dashboard-demo")
    await page.goto(f"{console}/console/language/en?next=%2Fconsole%2F")
    assert "Customers by tier" in await page.inner_text("main")
    await shoot(page, "dashboard-demo-en")


async def test_an_import_with_a_bad_row_shows_the_error(
    bot: Harness, console: str, page: Any, sign_in: SignIn, tmp_path: Any
) -> None:
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.goto(f"{console}/console/imports")
    await shoot(page, "imports")
    bad = tmp_path / "khach.csv"
    bad.write_text(
        "code,kind,name,phone,email,birthday,region,language\n"
        "KH90001,individual,Nguyễn Thị Lan,0912345678,lan@example.com,17/05/1990,Hà Nội,vi\n"
        "KH90002,individual,Trần Bình,12,not-an-email,31/02/1990,Huế,vi\n",
        encoding="utf-8",
    )
    await page.get_by_label("Tệp").set_input_files(str(bad))
    await page.get_by_role("button", name="Kiểm tra tệp").click()
    errors = await page.inner_text("#row-errors")
    assert "Dòng 3" in errors
    await shoot(page, "import-errors")
    assert await bot.services.customers.by_code("KH90001") is None


async def test_the_reports_page(bot: Harness, console: str, page: Any, sign_in: SignIn) -> None:
    await bot.services.seed_demo(customers=60)
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.goto(f"{console}/console/reports")
    frame = page.frame_locator("iframe")
    await frame.locator("svg").first.wait_for()
    await shoot(page, "reports")
    await page.goto(f"{console}/console/faq")
    await shoot(page, "faq")
    await page.goto(f"{console}/console/customers")
    await shoot(page, "customers-all")


async def test_a_manager_composes_and_dry_runs_a_campaign(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    from tests.builders import add_metrics, make_customer

    for n, consent in ((1, True), (2, False)):
        customer = await make_customer(
            bot.services, name=f"Khách {n}", telegram_user_id=8800 + n, consent_telegram=consent
        )
        await add_metrics(bot.services, customer, tier="gold")
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.goto(f"{console}/console/campaigns")
    await page.get_by_label("Tên chiến dịch").fill("Tết 2027")
    await page.get_by_label("Vàng", exact=True).first.check()
    await page.locator("#f-offer_gold").fill("giảm 10% toàn bộ đơn")
    # The page's policy forbids evaluated scripts, so wait on the text itself.
    await page.locator("#preview").get_by_text("giảm 10% toàn bộ đơn").first.wait_for()
    preview = await page.inner_text("#preview")
    assert "Nguyễn Thị Lan" in preview and "Jane Doe" in preview
    await shoot(page, "campaigns-compose")
    await page.get_by_role("button", name="Lưu chiến dịch").click()
    await page.wait_for_url(re.compile(r"/console/campaigns/T"))
    dry = await page.inner_text("#dry-run")
    assert "chưa đồng ý nhận tin" in dry
    await shoot(page, "campaign-dry-run")


async def test_staff_find_console_in_their_private_chats_command_menu(bot: Harness) -> None:
    minh = await bot.staff_member("Minh", role="agent")
    await bot.restart()  # menus are set when the bot starts
    scope = {"type": "chat", "chat_id": minh.id}
    menu = dict(bot.sandbox.commands_for(scope, "vi"))
    assert menu["console"].startswith("Đăng nhập bảng điều khiển")
    assert "orders" in menu  # the customers' commands stay
    assert dict(bot.sandbox.commands_for(scope, "en"))["console"].startswith("Sign in")
    everyone = dict(bot.sandbox.commands_for({"type": "all_private_chats"}, "vi"))
    assert "console" not in everyone
