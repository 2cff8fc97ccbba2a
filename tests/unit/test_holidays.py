"""Greeting days: Tet and Mid-Autumn by the Vietnamese lunar calendar, fixed days by date."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from care.core.calendar import (
    ALL_HOLIDAYS,
    MID_AUTUMN,
    NEW_YEAR,
    TET,
    VIETNAM_WOMENS_DAY,
    WOMENS_DAY,
    greeting_days,
    holidays_on,
    unknown_holidays,
)

# Mùng 1 Tết and Rằm tháng Tám, 2020-2040, as printed in Vietnamese calendars (âm lịch).
KNOWN = {
    2020: (date(2020, 1, 25), date(2020, 10, 1)),
    2021: (date(2021, 2, 12), date(2021, 9, 21)),
    2022: (date(2022, 2, 1), date(2022, 9, 10)),
    2023: (date(2023, 1, 22), date(2023, 9, 29)),
    2024: (date(2024, 2, 10), date(2024, 9, 17)),
    2025: (date(2025, 1, 29), date(2025, 10, 6)),
    2026: (date(2026, 2, 17), date(2026, 9, 25)),
    2027: (date(2027, 2, 6), date(2027, 9, 15)),
    2028: (date(2028, 1, 26), date(2028, 10, 3)),
    2029: (date(2029, 2, 13), date(2029, 9, 22)),
    2030: (date(2030, 2, 2), date(2030, 9, 12)),  # Tet a day before China's (3 Feb)
    2031: (date(2031, 1, 23), date(2031, 10, 1)),
    2032: (date(2032, 2, 11), date(2032, 9, 19)),
    2033: (date(2033, 1, 31), date(2033, 9, 8)),
    2034: (date(2034, 2, 19), date(2034, 9, 26)),  # Mid-Autumn a day before China's (27 Sep)
    2035: (date(2035, 2, 8), date(2035, 9, 16)),
    2036: (date(2036, 1, 28), date(2036, 10, 4)),
    2037: (date(2037, 2, 15), date(2037, 9, 24)),
    2038: (date(2038, 2, 4), date(2038, 9, 13)),
    2039: (date(2039, 1, 24), date(2039, 10, 2)),
    2040: (date(2040, 2, 12), date(2040, 9, 20)),
}


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_tet_is_the_first_day_of_the_vietnamese_lunar_year(year: int) -> None:
    assert greeting_days(year)[TET] == KNOWN[year][0]


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_tet_agrees_with_the_holidays_package_vietnam_calendar(year: int) -> None:
    vietnam = holidays.country_holidays("VN", years=year, language="en_US")
    assert vietnam.get_named("Lunar New Year", lookup="exact") == [greeting_days(year)[TET]]


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_mid_autumn_is_the_15th_of_the_8th_lunar_month_in_vietnam(year: int) -> None:
    assert greeting_days(year)[MID_AUTUMN] == KNOWN[year][1]


def test_tet_2027_falls_on_6_february() -> None:
    assert holidays_on(date(2027, 2, 6)) == [TET]
    assert holidays_on(date(2027, 2, 5)) == []
    assert holidays_on(date(2027, 2, 7)) == []


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2027, 1, 1), NEW_YEAR),
        (date(2027, 3, 8), WOMENS_DAY),
        (date(2027, 10, 20), VIETNAM_WOMENS_DAY),
        (date(2034, 9, 26), MID_AUTUMN),
    ],
)
def test_fixed_and_lunar_days_are_found_by_date(day: date, name: str) -> None:
    assert holidays_on(day) == [name]


def test_only_enabled_holidays_count() -> None:
    assert holidays_on(date(2027, 3, 8), enabled=[TET, NEW_YEAR]) == []
    assert holidays_on(date(2027, 2, 6), enabled=[TET]) == [TET]


def test_every_year_has_every_greeting_day() -> None:
    for year in range(2020, 2041):
        assert set(greeting_days(year)) == set(ALL_HOLIDAYS)


def test_unknown_names_in_configuration_are_reported() -> None:
    assert unknown_holidays(["tet", "christmas"]) == ["christmas"]
