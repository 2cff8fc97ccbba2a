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


async def test_the_trend_counts_surveys_by_month_in_the_shops_time_zone(
    services: Services,
) -> None:
    from datetime import UTC, datetime

    from care.core.models import Survey
    from tests.builders import make_customer

    lan = await make_customer(services, name="Lan")
    # 23:30 on 31/10 in Ho Chi Minh City (UTC+7) is October; an hour later, November.
    answers = [
        (datetime(2026, 10, 31, 16, 30, tzinfo=UTC), 5, 10),
        (datetime(2026, 10, 31, 17, 30, tzinfo=UTC), 1, 0),  # 00:30 on 01/11 local
        (datetime(2026, 11, 10, 3, 0, tzinfo=UTC), 3, 9),
    ]
    async with services.db.uow() as uow:
        for at, csat, nps in answers:
            uow.session.add(
                Survey(
                    customer_id=lan.id,
                    trigger="delivery",
                    status="answered",
                    csat=csat,
                    nps=nps,
                    created_at=at,
                    answered_at=at,
                )
            )
        await uow.commit()
    figures = await services.dashboard.figures()
    by_month = {f"{m.month:%m/%Y}": m for m in figures.trend}
    assert by_month["10/2026"].answered == 1 and by_month["10/2026"].csat == 5.0
    assert by_month["10/2026"].nps == 100.0
    november = by_month["11/2026"]
    assert november.answered == 2 and november.csat == 2.0 and november.nps == 0.0
