"""Historical LTV computed over the database against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime

from care.analytics.ltv import historical_ltv
from care.core.models import CustomerMetrics
from care.services import Services
from tests.builders import make_customer, make_order


def at(year: int, month: int, day: int, hour: int = 3) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def ltv_of(services: Services, customer_id: int) -> int:
    async with services.db.uow() as uow:
        metrics = await uow.session.get(CustomerMetrics, customer_id)
        assert metrics is not None
        return int(metrics.historical_ltv)


async def test_a_full_run_matches_the_hand_computed_ltv(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan, placed_at=at(2026, 8, 10), margin=100_000)
    await make_order(services, lan, placed_at=at(2026, 10, 5), margin=100_000)
    # none of these is a purchase
    await make_order(services, lan, placed_at=at(2026, 9, 5), margin=900_000, status="cancelled")
    await make_order(services, lan, placed_at=at(2026, 9, 6), margin=900_000, status="returned")
    await make_order(
        services, lan, placed_at=at(2026, 9, 7), margin=900_000, kind="inquiry", status="open"
    )
    await services.segmentation.recompute()
    assert await ltv_of(services, lan.id) == 196_069


async def test_months_are_those_of_the_shop_time_zone(services: Services) -> None:
    # 31/08 18:00 UTC is 01/09 01:00 in Ho Chi Minh City: September is the first month,
    # so the October order is in month 2.
    binh = await make_customer(services)
    await make_order(
        services, binh, placed_at=datetime(2026, 8, 31, 18, tzinfo=UTC), margin=100_000
    )
    await make_order(services, binh, placed_at=at(2026, 10, 5), margin=100_000)
    await services.segmentation.recompute()
    assert await ltv_of(services, binh.id) == round(100_000 / 1.01 + 100_000 / 1.01**2)


async def test_the_period_and_rate_come_from_the_settings(services: Services) -> None:
    services.settings.ltv_period = "quarter"
    services.settings.ltv_discount_rate = 0.03
    chi = await make_customer(services)
    await make_order(services, chi, placed_at=at(2026, 1, 10), margin=200_000)  # Q1: t=1
    await make_order(services, chi, placed_at=at(2026, 3, 20), margin=100_000)  # Q1: t=1
    await make_order(services, chi, placed_at=at(2026, 8, 1), margin=100_000)  # Q3: t=3
    await services.segmentation.recompute()
    assert await ltv_of(services, chi.id) == historical_ltv([(1, 300_000), (3, 100_000)], 0.03)
