"""Staff performance against figures worked out by hand.

    T1  An    05/11 10:00  medium    Minh claims +1 h, resolves +10 h          CSAT 5
    T2  Bình  10/11 10:00  high      Minh claims +3 h, resolves +40 h          CSAT 3
    T3  Chi   12/11 10:00  critical  Trang claims +30 min, resolves +6 h       CSAT 4
    T4  An    20/11 10:00  low       nobody, open

Member targets 4 h / 72 h, high x0.5 (2 h / 36 h): T2 breaks both. Trang logs two contacts
in the period; Minh one, two months ago.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.tickets.complaints import Draft
from tests.builders import database_env, make_customer, with_services

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
async def history(services, clock):
    minh = await services.staff.add(7001, "Minh")
    trang = await services.staff.add(7002, "Trang")
    an = await make_customer(services, name="An", telegram_user_id=501)
    binh = await make_customer(services, name="Bình", telegram_user_id=502)
    chi = await make_customer(services, name="Chi", telegram_user_id=503)
    complaints = services.complaints

    async def ticket(who, when, severity, staff, claim_after, resolve_after, csat):
        clock.now = when
        t = await complaints.file(who.telegram_user_id, Draft("delivery", severity, "…"))
        if staff is None:
            return
        clock.advance(hours=claim_after)
        await complaints.claim(t.id, staff)
        clock.advance(hours=resolve_after - claim_after)
        survey = (await complaints.resolve(t.id, staff, "ok")).survey_id
        await services.surveys.answer(survey, who.telegram_user_id, "csat", csat)

    await ticket(an, datetime(2026, 11, 5, 10, tzinfo=UTC), "medium", 7001, 1, 10, 5)
    await ticket(binh, datetime(2026, 11, 10, 10, tzinfo=UTC), "high", 7001, 3, 40, 3)
    await ticket(chi, datetime(2026, 11, 12, 10, tzinfo=UTC), "critical", 7002, 0.5, 6, 4)
    await ticket(an, datetime(2026, 11, 20, 10, tzinfo=UTC), "low", None, 0, 0, 0)
    clock.now = NOW
    for days in (1, 3):
        await services.contacts.log(
            chi.id, kind="call", note="hỏi thăm", staff_id=trang.id, at=NOW - timedelta(days=days)
        )
    await services.contacts.log(
        an.id, kind="visit", note="cũ", staff_id=minh.id, at=NOW - timedelta(days=60)
    )


async def test_each_staff_member_gets_their_own_figures(services, history):
    report = await services.staff_performance.compute()
    assert (report.since, report.until) == (date(2026, 10, 25), date(2026, 11, 23))
    minh, trang = report.staff
    assert (minh.name, minh.tickets, minh.resolved) == ("Minh", 2, 2)
    assert minh.median_first_response == 2 * H and minh.p90_first_response == 3 * H
    assert minh.median_resolution == 25 * H and minh.p90_resolution == 40 * H
    assert (minh.first_response_breaches, minh.resolution_breaches) == (1, 1)
    assert (minh.csat_responses, minh.csat_mean, minh.contacts) == (2, 4, 0)
    assert (trang.name, trang.tickets, trang.breaches) == ("Trang", 1, 0)
    assert trang.median_first_response == trang.p90_first_response == 0.5 * H
    assert trang.median_resolution == 6 * H
    assert (trang.csat_mean, trang.contacts) == (4, 2)
    assert report.unassigned_open == 1


async def test_a_period_counts_the_tickets_filed_and_contacts_made_in_it(services, history):
    report = await services.staff_performance.compute(date(2026, 11, 11), date(2026, 11, 30))
    by_name = {f.name: f for f in report.staff}
    assert by_name["Minh"].tickets == 0 and by_name["Minh"].median_first_response is None
    assert by_name["Minh"].csat_mean is None
    assert by_name["Trang"].tickets == 1 and by_name["Trang"].contacts == 2
    with pytest.raises(ValueError, match="after its end"):
        await services.staff_performance.compute(date(2026, 11, 30), date(2026, 11, 1))


def test_the_staff_report_command_prints_a_row_per_staff_member(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    empty = runner.invoke(cli, ["report", "staff"])
    assert empty.exit_code == 0 and "no staff registered" in empty.output

    async def one_ticket(services):
        await services.staff.add(7001, "Minh")
        customer = await make_customer(services, telegram_user_id=901)
        ticket = await services.complaints.file(901, Draft("billing", "high", "Sai tiền"))
        await services.complaints.claim(ticket.id, 7001)
        await services.contacts.log(customer.id, kind="call", note="gọi lại", staff_id=1)

    with_services(settings, one_ticket)
    result = runner.invoke(cli, ["report", "staff", "--since", "01/01/2020"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "Minh" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:3] == ["Minh", "1", "0"] and cells[-1] == "1"
    bad = runner.invoke(cli, ["report", "staff", "--since", "2/1/2026", "--until", "1/1/2026"])
    assert bad.exit_code == 1 and "after" in bad.output
