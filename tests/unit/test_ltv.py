"""Historical LTV against hand-computed values, the time frame, and the CLV inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from care.analytics.ltv import (
    EPOCH,
    clv_inputs,
    frame_for,
    historical_ltv,
    offset_constant_since,
    period_index,
    periods_of_days,
    rate_per_month,
)


def at(year: int, month: int, day: int, hour: int = 3) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_the_formula_discounts_each_period_from_the_first() -> None:
    # 100.000 in months 1 and 3 at 1% per month
    assert (
        historical_ltv([(1, 100_000), (3, 100_000)], 0.01)
        == round(100_000 / 1.01 + 100_000 / 1.01**3)
        == 196_069
    )


def test_the_formula_refuses_period_zero() -> None:
    with pytest.raises(ValueError):
        historical_ltv([(0, 100_000)], 0.01)


@pytest.mark.parametrize(
    ("day", "period", "expected"),
    [
        (date(2026, 1, 31), "month", 2026 * 12),
        (date(2026, 2, 1), "month", 2026 * 12 + 1),
        (date(2026, 3, 31), "quarter", 2026 * 4),
        (date(2026, 4, 1), "quarter", 2026 * 4 + 1),
        (date(2026, 12, 31), "year", 2026),
    ],
)
def test_periods_are_consecutive_numbers(day: date, period: str, expected: int) -> None:
    assert period_index(day, period) == expected


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_periods_of_day_numbers_are_those_of_the_days(period: str) -> None:
    days = [date(1969, 12, 31), date(1970, 1, 1), date(2024, 2, 29), date(2026, 11, 23)]
    numbers = np.array([(day - EPOCH).days for day in days])
    assert periods_of_days(numbers, period).tolist() == [period_index(d, period) for d in days]


@pytest.mark.parametrize(
    ("zone", "since"),
    [
        # Saigon moved from UTC+8 to UTC+7 at midnight on 13/06/1975 and has kept it since
        ("Asia/Ho_Chi_Minh", datetime(1975, 6, 12, 16, 0, tzinfo=UTC)),
        # the end of summer time, 25/10/2026 at 03:00 local
        ("Europe/Berlin", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
        ("UTC", datetime(1900, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_offset_is_known_constant_since_the_zones_last_change(
    zone: str, since: datetime
) -> None:
    assert offset_constant_since(zone, at(2026, 11, 23)) == since


def test_a_quarterly_rate_is_the_compound_monthly_one() -> None:
    assert (1 + rate_per_month(0.03, "quarter")) ** 3 == pytest.approx(1.03)
    assert rate_per_month(0.01, "month") == pytest.approx(0.01)


def test_the_frame_ends_at_local_midnight_after_the_as_of_day() -> None:
    frame = frame_for(
        date(2026, 11, 23),
        at(2027, 1, 1),
        timezone="Asia/Ho_Chi_Minh",
        period="month",
        discount_rate=0.01,
    )
    assert frame.cutoff == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert frame.utc_offset_seconds == 7 * 3600
    # without an as-of day: today in Ho Chi Minh City (23:30 UTC is already the next day)
    today = frame_for(
        None,
        datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
        timezone="Asia/Ho_Chi_Minh",
        period="month",
        discount_rate=0.01,
    )
    assert today.as_of == date(2026, 11, 24)


def test_clv_inputs_merge_same_day_purchases_and_leave_the_first_out() -> None:
    # days 0 (two orders, margin 300 in all), 7 and 21; as of day 28
    inputs = clv_inputs(
        purchase_days=np.array([3, 1]),
        first_day=np.array([0, 20]),
        last_day=np.array([21, 20]),
        margin=np.array([300 + 100 + 200, 50]),
        first_margin=np.array([300, 50]),
        as_of_day=28,
    )
    assert inputs.x.tolist() == [2.0, 0.0]
    assert inputs.t_x.tolist() == [3.0, 0.0]
    assert inputs.T.tolist() == [4.0, 8 / 7]
    assert inputs.m_x.tolist() == [150.0, 0.0]
