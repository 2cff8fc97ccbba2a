"""The days the care programme greets customers on: Tet, Women's Days, Mid-Autumn, New Year.

Lunar dates come from the ``holidays`` package's Vietnamese lunisolar calendar (the one its
``holidays.VN`` uses for Tet Nguyen Dan). The package keeps Vietnamese-specific tables for
Tet, but its Mid-Autumn table is China's (UTC+8). Vietnam reckons lunar months at UTC+7, so
when the new moon of the eighth month falls between 16:00 and 17:00 UTC the month, and the
festival, begin a day earlier in Vietnam; ``_VN_MID_AUTUMN`` lists those years.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from holidays import HolidayBase
from holidays.calendars.chinese import VIETNAMESE_CALENDAR
from holidays.groups.chinese import ChineseCalendarHolidays
from holidays.groups.international import InternationalHolidays

# The greeting days a shop can enable (settings.holidays_enabled), in calendar order.
NEW_YEAR = "new_year"
TET = "tet"
WOMENS_DAY = "womens_day"  # 8 March, International Women's Day
MID_AUTUMN = "mid_autumn"
VIETNAM_WOMENS_DAY = "vietnam_womens_day"  # 20 October
ALL_HOLIDAYS = (NEW_YEAR, TET, WOMENS_DAY, MID_AUTUMN, VIETNAM_WOMENS_DAY)

# Holidays an organization is greeted on; the others are personal occasions.
ORGANIZATION_HOLIDAYS = frozenset({NEW_YEAR, TET})

# Years in which the 15th day of the 8th month differs between the Vietnamese (UTC+7) and
# the Chinese (UTC+8) calendars, with the new moon that causes it (Ho Ngoc Duc's method).
_VN_MID_AUTUMN = {
    2034: date(2034, 9, 26),  # new moon 2034-09-12 16:14 UTC: 23:14 in Hanoi, 00:14 in Beijing
    2041: date(2041, 9, 9),  # new moon 2041-08-26 16:16 UTC
    2065: date(2065, 9, 14),  # new moon 2065-08-31 16:38 UTC
    2080: date(2080, 9, 27),  # new moon 2080-09-13 16:26 UTC
}


class _GreetingDays(HolidayBase, ChineseCalendarHolidays, InternationalHolidays):
    """A holidays-package calendar of our greeting days, keyed by our holiday names."""

    def __init__(self, years: int) -> None:
        ChineseCalendarHolidays.__init__(self, calendar=VIETNAMESE_CALENDAR)
        InternationalHolidays.__init__(self)
        super().__init__(years=years)

    def _populate(self, year: int) -> None:
        super()._populate(year)
        self._add_new_years_day(NEW_YEAR)
        self._add_chinese_new_years_day(TET)
        self._add_holiday_mar_8(WOMENS_DAY)  # International Women's Day
        mid_autumn = _VN_MID_AUTUMN.get(year) or self._mid_autumn_festival
        if mid_autumn is not None:
            self._add_holiday(MID_AUTUMN, mid_autumn)
        self._add_holiday_oct_20(VIETNAM_WOMENS_DAY)


@cache
def greeting_days(year: int) -> dict[str, date]:
    """Our greeting days of one year, by name (all of them; filter with ``holidays_on``)."""
    calendar = _GreetingDays(years=year)
    return {name: day for day, name in calendar.items()}


def holidays_on(day: date, enabled: list[str] | tuple[str, ...] = ALL_HOLIDAYS) -> list[str]:
    """The enabled greeting days that fall on ``day`` (usually none, rarely two)."""
    return [
        name for name, when in greeting_days(day.year).items() if when == day and name in enabled
    ]


def unknown_holidays(names: list[str]) -> list[str]:
    """Names in a configuration that are not greeting days we know (for a clear error)."""
    return [name for name in names if name not in ALL_HOLIDAYS]
