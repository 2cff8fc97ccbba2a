"""The dashboard: tickets by deadline state, customers by tier, the CSAT/NPS trend, campaigns,
unanswered questions and the outbox's health, on the demo shop."""

from __future__ import annotations

import re
import time

import httpx

from care.services import Services


async def test_the_dashboard_shows_the_demo_shop(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    await services.seed_demo(customers=80)
    started = time.perf_counter()
    page = await client.get("/console/")
    elapsed = time.perf_counter() - started
    assert page.status_code == 200
    text = page.text
    for heading in ("Khiếu nại đang mở theo hạn", "Khách hàng theo hạng", "Hộp thư đi"):
        assert heading in text
    tiers = re.findall(r'<td class="n">([\d.]+)</td></tr>', text)
    assert sum(int(n.replace(".", "")) for n in tiers[:4]) > 0
    assert elapsed < 5  # the page is a handful of aggregates, not the whole report


async def test_an_empty_shop_has_a_dashboard_too(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    page = await client.get("/console/")
    assert page.status_code == 200 and "Chưa có." in page.text
