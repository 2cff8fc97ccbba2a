"""Complaint statistics against figures worked out by hand on a small history.

The history (times UTC; the shop is in Ho Chi Minh City, UTC+7; "now" is 23/11 03:00):

    T1  An    05/10 10:00  delivery         medium  member  claimed +1 h, resolved +10 h
    T2  Bình  20/10 10:00  billing          high    member  replied +3 h, resolved +40 h
    T3  Chi   02/11 10:00  product_quality  critical member claimed +30 min, resolved +6 h
    T4  An    10/11 10:00  delivery         low     member  never answered, open
    T5  Chi   22/11 20:00  other            medium  member  open (23/11 local time)

Member targets: 4 h / 72 h, scaled by severity (high x0.5, critical x0.25, low x1.5).
"""

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import Survey
from care.core.settings import Settings
from care.services import open_services
from care.tickets.complaints import Draft
from tests.builders import make_customer

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
async def history(services, clock):
    await services.staff.add(7001, "Minh")
    an = await make_customer(services, name="An", telegram_user_id=501)
    binh = await make_customer(services, name="Bình", telegram_user_id=502)
    chi = await make_customer(services, name="Chi", telegram_user_id=503)
    complaints = services.complaints

    async def file(who, when, category, severity):
        clock.now = when
        return await complaints.file(who.telegram_user_id, Draft(category, severity, "…"))

    t1 = await file(an, datetime(2026, 10, 5, 10, tzinfo=UTC), "delivery", "medium")
    clock.advance(hours=1)
    await complaints.claim(t1.id, 7001)
    clock.advance(hours=9)
    s1 = (await complaints.resolve(t1.id, 7001, "ok")).survey_id

    t2 = await file(binh, datetime(2026, 10, 20, 10, tzinfo=UTC), "billing", "high")
    clock.advance(hours=3)
    await complaints.staff_reply(t2.id, 7001, "Em kiểm tra ạ")
    clock.advance(hours=37)
    s2 = (await complaints.resolve(t2.id, 7001, "ok")).survey_id

    t3 = await file(chi, datetime(2026, 11, 2, 10, tzinfo=UTC), "product_quality", "critical")
    clock.advance(minutes=30)
    await complaints.claim(t3.id, 7001)
    clock.advance(hours=5, minutes=30)
    s3 = (await complaints.resolve(t3.id, 7001, "ok")).survey_id

    await file(an, datetime(2026, 11, 10, 10, tzinfo=UTC), "delivery", "low")
    await file(chi, datetime(2026, 11, 22, 20, tzinfo=UTC), "other", "medium")

    clock.now = NOW
    surveys = services.surveys
    await surveys.answer(s1, 501, "csat", 5)
    for dimension, score in zip(
        ("reliability", "assurance", "tangibles", "empathy", "responsiveness"),
        (5, 4, 5, 4, 5),
        strict=True,
    ):
        await surveys.answer(s1, 501, dimension, score)
    await surveys.answer(s1, 501, "nps", 10)
    await surveys.answer(s2, 502, "csat", 3)
    await surveys.answer(s2, 502, "skip_servqual")
    await surveys.answer(s2, 502, "nps", 6)
    await surveys.answer(s3, 503, "csat", 4)
    await surveys.answer(s3, 503, "skip_servqual")
    await surveys.answer(s3, 503, "nps", 8)
    # An after-delivery survey: CSAT 5, reliability 3, NPS 9.
    async with services.db.uow() as uow:
        delivery = Survey(customer_id=binh.id, trigger="delivery")
        uow.session.add(delivery)
        await uow.commit()
    await surveys.answer(delivery.id, 502, "csat", 5)
    await surveys.answer(delivery.id, 502, "reliability", 3)
    await surveys.answer(delivery.id, 502, "skip_servqual")
    await surveys.answer(delivery.id, 502, "nps", 9)


async def test_counts_by_category_severity_and_status(services, history):
    stats = await services.complaint_stats.compute()
    assert stats.total == 5
    assert stats.by_category == {
        "product_quality": 1,
        "delivery": 2,
        "billing": 1,
        "staff_attitude": 0,
        "warranty": 0,
        "other": 1,
    }
    assert stats.by_severity == {"critical": 1, "high": 1, "medium": 2, "low": 1}
    assert stats.by_status == {"open": 2, "claimed": 0, "resolved": 3}


async def test_medians_and_breaches(services, history):
    stats = await services.complaint_stats.compute()
    # First responses 1 h, 3 h, 30 min; resolutions 10 h, 40 h, 6 h.
    assert stats.durations.median_first_response == 1 * H
    assert stats.durations.median_resolution == 10 * H
    # First response: T2 (3 h > 2 h), T4 and T5 (open past 6 h and 4 h).
    assert stats.durations.first_response_breaches == 3
    # Resolution: T2 (40 h > 36 h), T4 (open past 108 h); T5 is due 25/11.
    assert stats.durations.resolution_breaches == 2


async def test_repeat_complainers(services, history):
    stats = await services.complaint_stats.compute()
    assert [(r.name, r.complaints) for r in stats.repeat_complainers] == [("An", 2), ("Chi", 2)]


async def test_per_month_in_local_time(services, history):
    stats = await services.complaint_stats.compute()
    october, november = stats.months
    assert (october.month, october.complaints, october.resolved) == (date(2026, 10, 1), 2, 2)
    assert october.durations.median_first_response == 2 * H  # median of 1 h and 3 h
    assert october.durations.median_resolution == 25 * H  # median of 10 h and 40 h
    assert (october.durations.first_response_breaches, october.durations.resolution_breaches) == (
        1,
        1,
    )
    assert (november.month, november.complaints, november.resolved) == (date(2026, 11, 1), 3, 1)
    assert november.durations.median_first_response == timedelta(minutes=30)
    assert november.durations.median_resolution == 6 * H
    assert (november.durations.first_response_breaches, november.durations.resolution_breaches) == (
        2,
        1,
    )


async def test_a_period_takes_local_days_until_included(services, history):
    stats = await services.complaint_stats.compute(date(2026, 11, 1), date(2026, 11, 22))
    assert stats.total == 2  # T3 and T4; T5 was filed on 23/11 local time
    assert stats.repeat_complainers == []
    assert stats.surveys.responses == 0  # every survey was answered on 23/11
    with_t5 = await services.complaint_stats.compute(date(2026, 11, 23), date(2026, 11, 23))
    assert with_t5.total == 1 and with_t5.by_category["other"] == 1


async def test_survey_averages_csat_and_nps(services, history):
    surveys = (await services.complaint_stats.compute()).surveys
    assert surveys.responses == 4
    assert surveys.csat_mean == pytest.approx(4.25)  # 5, 3, 4, 5
    assert surveys.csat_satisfied_share == pytest.approx(0.75)
    assert surveys.dimensions == {
        "reliability": pytest.approx(4.0),  # 5 and 3
        "assurance": pytest.approx(4.0),
        "tangibles": pytest.approx(5.0),
        "empathy": pytest.approx(4.0),
        "responsiveness": pytest.approx(5.0),
    }
    # NPS answers 10, 6, 8, 9: two promoters, one detractor out of four.
    assert (surveys.nps_responses, surveys.promoters, surveys.detractors) == (4, 2, 1)
    assert surveys.nps == pytest.approx(25.0)


async def test_an_empty_period_has_no_medians_and_no_averages(services, history):
    stats = await services.complaint_stats.compute(date(2025, 1, 1), date(2025, 1, 31))
    assert stats.total == 0 and stats.months == []
    assert stats.durations.median_first_response is None
    assert stats.surveys.csat_mean is None and stats.surveys.nps is None


async def test_a_period_that_ends_before_it_starts_is_refused(services):
    with pytest.raises(ValueError):
        await services.complaint_stats.compute(date(2026, 11, 2), date(2026, 11, 1))


def test_the_report_command_prints_the_figures(tmp_cwd, monkeypatch):
    url = f"sqlite:///{tmp_cwd / 'cli.db'}"
    monkeypatch.setenv("CAREBOT_DATABASE_URL", url)

    async def two_tickets():
        async with open_services(Settings(_env_file=None, database_url=url)) as services:
            for n, category in enumerate(("billing", "billing"), start=1):
                await make_customer(services, telegram_user_id=900 + n)
                await services.complaints.file(900 + n, Draft(category, "high", "Sai tiền"))

    asyncio.run(two_tickets())
    result = CliRunner().invoke(cli, ["report", "complaints", "--since", "01/01/2020"])
    assert result.exit_code == 0, result.output
    assert "Complaints from 01/01/2020 – today: 2" in result.output
    assert re.search(r"billing\s+│\s+2", result.output)
    bad = CliRunner().invoke(
        cli, ["report", "complaints", "--since", "2/1/2026", "--until", "1/1/2026"]
    )
    assert bad.exit_code == 1 and "after" in bad.output
