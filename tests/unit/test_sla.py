"""Deadlines by tier and severity, and durations as people say them."""

from datetime import timedelta

import pytest

from care.core.text import format_duration
from care.tickets.sla import targets


@pytest.mark.parametrize(
    ("tier", "severity", "first", "resolution"),
    [
        ("diamond", "medium", timedelta(minutes=30), timedelta(hours=8)),
        ("diamond", "critical", timedelta(minutes=7.5), timedelta(hours=2)),
        ("gold", "high", timedelta(minutes=30), timedelta(hours=12)),
        ("member", "low", timedelta(hours=6), timedelta(hours=108)),
        (None, "medium", timedelta(hours=4), timedelta(hours=72)),  # no tier yet: member
        ("platinum", "medium", timedelta(hours=4), timedelta(hours=72)),  # unknown: member
    ],
)
def test_targets_scale_the_tiers_hours_by_the_severity(settings, tier, severity, first, resolution):
    assert targets(settings, tier, severity) == (first, resolution)


def test_the_top_tier_is_served_fastest_at_every_severity(settings):
    for severity in ("low", "medium", "high", "critical"):
        times = [targets(settings, tier, severity) for tier in settings.tier_names]
        assert times == sorted(times)


@pytest.mark.parametrize(
    ("delta", "vi", "en"),
    [
        (timedelta(minutes=30), "30 phút", "30 minutes"),
        (timedelta(hours=1, minutes=30), "1 giờ 30 phút", "1 hour 30 minutes"),
        (timedelta(hours=72), "3 ngày", "3 days"),
        (timedelta(hours=36, minutes=5), "1 ngày 12 giờ", "1 day 12 hours"),
        (timedelta(seconds=20), "0 phút", "0 minutes"),
    ],
)
def test_durations_read_as_people_say_them(delta, vi, en):
    assert format_duration(delta, "vi") == vi
    assert format_duration(delta, "en") == en
