"""Products in the console: the catalogue searched and filtered, the product report; a
manager takes a product off sale or features it (audited), an agent may only look."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from care.services import Services
from tests.builders import add_metrics, make_customer, make_order
from tests.integration.test_products import catalogue, line, local


async def _shop(services: Services, tmp_path: Path, clock: Any) -> None:
    await catalogue(services, tmp_path)
    clock.now = local(2026, 11, 23)
    lan = await make_customer(services)
    await add_metrics(services, lan, tier="gold")
    order = await make_order(
        services, lan, placed_at=local(2026, 11, 2), amount=750_000, margin=150_000
    )
    await line(services, order.id, "TRA-01", 2, 300_000)
    await line(services, order.id, "AM-01", 1, 450_000)
    inquiry = await make_order(services, lan, kind="inquiry", status="lost", amount=0, margin=0)
    await line(services, inquiry.id, "KHAY-01", 1, 350_000)


def _table(html: str, name: str) -> str:
    found = re.search(rf'<table id="{name}">(.*?)</table>', html, re.S)
    assert found is not None, f"no table {name}"
    return found.group(1)


async def test_an_agent_searches_the_catalogue_and_reads_the_report(
    client: httpx.AsyncClient, services: Services, agent: str, tmp_path: Path, clock: Any
) -> None:
    await _shop(services, tmp_path, clock)
    page = await client.get("/console/products")
    assert page.status_code == 200
    assert 'href="/console/products"' in page.text  # in the navigation
    products = _table(page.text, "products")
    assert "Trà Thái Nguyên" in products and "Khay gỗ" in products
    assert "450.000 ₫" in products
    assert "/flags" not in products  # an agent sees no buttons
    by_month = _table(page.text, "by-month")
    assert "11/2026" in by_month and "90.000 ₫" in by_month  # the teapot's share of the margin
    assert "Vàng" in page.text or "Gold" in page.text  # the gold tier's top products
    assert "Khay gỗ" in _table(page.text, "unmet")

    found = await client.get("/console/products", params={"q": "tra thai"})
    listed = _table(found.text, "products")
    assert "Trà Thái Nguyên" in listed and "Ấm trà" not in listed
    off = await client.get("/console/products", params={"active": "no"})
    assert "Khay gỗ" in _table(off.text, "products")
    assert "Trà Thái" not in _table(off.text, "products")
    featured = await client.get("/console/products", params={"featured": "yes", "category": "Gốm"})
    assert "Ấm trà Bát Tràng" in _table(featured.text, "products")
    assert "Trà Thái" not in _table(featured.text, "products")

    refused = await client.post(
        "/console/products/TRA-01/flags", data={"csrf": agent, "active": "0"}
    )
    assert refused.status_code == 403
    view = await services.products.view("TRA-01")
    assert view is not None and view.active


async def test_a_manager_takes_a_product_off_sale_and_features_another(
    client: httpx.AsyncClient, services: Services, manager: str, tmp_path: Path, clock: Any
) -> None:
    await _shop(services, tmp_path, clock)
    page = await client.get("/console/products")
    assert 'action="/console/products/TRA-01/flags"' in page.text
    no_token = await client.post("/console/products/TRA-01/flags", data={"active": "0"})
    assert no_token.status_code == 403
    nothing = await client.post(
        "/console/products/TRA-01/flags", data={"csrf": manager, "active": "maybe"}
    )
    assert nothing.status_code == 400 and "Không có gì để thay đổi" in nothing.text
    missing = await client.post(
        "/console/products/NOPE/flags", data={"csrf": manager, "active": "0"}
    )
    assert missing.status_code == 404
    view = await services.products.view("TRA-01")
    assert view is not None and view.active

    done = await client.post(
        "/console/products/TRA-01/flags", data={"csrf": manager, "active": "0"}
    )
    assert done.status_code == 303
    featured = await client.post(
        "/console/products/KHAY-01/flags", data={"csrf": manager, "featured": "1"}
    )
    assert featured.status_code == 303
    tea, tray = await services.products.view("TRA-01"), await services.products.view("KHAY-01")
    assert tea is not None and not tea.active
    assert tray is not None and tray.featured
    entries, _ = await services.console.audit_log(limit=10, offset=0)
    assert {(e.action, e.target) for e in entries} >= {
        ("product.flags", "product:TRA-01"),
        ("product.flags", "product:KHAY-01"),
    }
