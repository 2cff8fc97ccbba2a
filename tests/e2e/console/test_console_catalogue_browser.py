"""Products, API keys and learned FAQ wordings in a real browser: a manager filters the
catalogue and takes a product off sale, then makes an API key that is shown once and
revokes it; an agent approves a wording customers confirmed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from care.faq import asker_key
from tests.builders import add_metrics, make_customer, make_order
from tests.e2e.conftest import Harness
from tests.e2e.console.conftest import SignIn, shoot
from tests.integration.test_faq_learning import DEMO_FAQ, WORDING
from tests.integration.test_products import catalogue, line

pytestmark = pytest.mark.e2e


async def test_a_manager_works_the_catalogue_and_makes_an_api_key(
    bot: Harness, console: str, page: Any, sign_in: SignIn, tmp_path: Path
) -> None:
    services = bot.services
    await catalogue(services, tmp_path)
    lan = await make_customer(services)
    await add_metrics(services, lan, tier="gold")
    order = await make_order(services, lan, amount=750_000, margin=150_000)
    await line(services, order.id, "TRA-01", 2, 300_000)
    await line(services, order.id, "AM-01", 1, 450_000)
    inquiry = await make_order(services, lan, kind="inquiry", status="lost", amount=0, margin=0)
    await line(services, inquiry.id, "KHAY-01", 1, 350_000)
    hoa = await bot.staff_member("Hoa", role="manager")
    await sign_in(page, hoa.id)
    await page.get_by_role("link", name="Sản phẩm").first.click()
    await page.wait_for_url(f"{console}/console/products")
    assert "750.000 ₫" not in await page.inner_text("#by-month")  # by product, not by order
    assert "450.000 ₫" in await page.inner_text("#by-month")
    assert "Khay gỗ" in await page.inner_text("#unmet")
    await shoot(page, "products")
    await page.fill("#f-q", "tra thai")
    await page.get_by_role("button", name="Lọc").click()
    assert "Trà Thái Nguyên" in await page.inner_text("#products")
    assert "Khay gỗ" not in await page.inner_text("#products")
    await page.get_by_role("button", name="Ngừng bán Trà Thái Nguyên").click()
    await page.wait_for_url(re.compile(r".*/console/products\?done=saved.*"))
    view = await bot.services.products.view("TRA-01")
    assert view is not None and not view.active
    await shoot(page, "products-saved")

    await page.get_by_role("link", name="Khóa API").click()
    await page.wait_for_url(f"{console}/console/api-keys")
    await page.get_by_role("button", name="Tạo khóa").click()  # nothing filled in
    assert await page.get_attribute("#f-name", "aria-invalid") == "true"
    await shoot(page, "api-keys-error")
    await page.fill("#f-name", "shop-pos")
    await page.get_by_label("read").check()
    await page.get_by_role("button", name="Tạo khóa").click()
    key = await page.input_value("#the-key")
    assert key.startswith("cbk_")
    assert await bot.services.api_keys.authenticate(key) is not None
    await shoot(page, "api-key-made")
    await page.goto(f"{console}/console/api-keys")
    assert key not in await page.content()
    await page.fill("#confirm-shop-pos", "shop-pos")
    await page.get_by_role("button", name="Thu hồi khóa shop-pos").click()
    await page.wait_for_url(f"{console}/console/api-keys?done=revoked")
    assert await bot.services.api_keys.authenticate(key) is None
    await shoot(page, "api-keys")


async def test_an_agent_approves_a_wording_customers_confirmed(
    bot: Harness, console: str, page: Any, sign_in: SignIn
) -> None:
    faq = bot.services.faq
    assert not (await faq.import_file(DEMO_FAQ)).errors
    entry = next(e.id for e in await faq.entries("vi") if e.question.startswith("Chính sách đổi"))
    for user in (1, 2):
        await faq.confirm(entry, WORDING, "vi", asker_key(user))
    minh = await bot.staff_member("Minh", role="agent")
    await sign_in(page, minh.id)
    await page.goto(f"{console}/console/faq")
    await shoot(page, "faq-pending")
    await page.get_by_role("button", name=f"Duyệt ngay cách hỏi “{WORDING}”").click()
    await page.wait_for_url(re.compile(r".*/console/faq\?done=approved.*"))
    assert WORDING in await page.inner_text("#learned-wordings")
    assert (await faq.ask(WORDING, "vi")).kind == "answer"
    await shoot(page, "faq-learned")
