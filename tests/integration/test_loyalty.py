"""The Vulnerability Index on a hand-computed fixture, and `carebot loyalty`."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.analytics.loyalty import LoyaltyProblem
from care.core.models import Customer
from care.core.settings import Settings
from care.services import Services, build_services
from tests.builders import make_customer, make_order

START, END = date(2026, 10, 1), date(2026, 10, 31)
# Baseline: the 180 days before 01/10 (04/04 - 30/09). Window: 01/10 - 30/11 (31 days of
# the campaign + 30 after it) = 61 days, complete when measured on 15/12.
BASELINE_DAYS, WINDOW_DAYS = 180, 61


def day(d: date, hour: int = 3) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


async def orders(
    services: Services,
    customer: Customer,
    first: date,
    count: int,
    every: int = 20,
    amount: int = 1_000_000,
    **fields: object,
) -> None:
    for k in range(count):
        await make_order(
            services,
            customer,
            placed_at=day(first + timedelta(days=every * k)),
            amount=amount,
            **fields,
        )


async def fixture(services: Services) -> dict[str, Customer]:
    c = {}
    c["A"] = await make_customer(services, code="A", name="An", region="Hà Nội")
    await orders(services, c["A"], date(2026, 4, 8), 25, every=7)  # weekly: 25 / 180 days
    await orders(services, c["A"], date(2026, 10, 10), 1)  # 1 where 8.5 were due: lost
    c["B"] = await make_customer(services, code="B", name="Bình", region="Hà Nội")
    await orders(services, c["B"], date(2026, 4, 8), 25, every=7)
    await orders(services, c["B"], date(2026, 10, 2), 9, every=7)  # kept buying
    c["C"] = await make_customer(services, code="C", name="Chi", region="Hà Nội")
    await orders(services, c["C"], date(2026, 4, 10), 6, every=30)  # monthly
    # nothing in the 61-day window: 2 orders were due, none is not unlikely (13 %)
    c["D"] = await make_customer(services, code="D", name="Dũng", region="Hà Nội")
    await make_order(services, c["D"], placed_at=day(date(2026, 8, 1)))  # a one-off buyer
    await make_order(services, c["D"], placed_at=day(date(2026, 10, 20)), status="cancelled")
    c["E"] = await make_customer(services, code="E", name="Em", region="Hà Nội")
    await orders(services, c["E"], date(2025, 12, 1), 2)  # before the baseline: not active
    c["F"] = await make_customer(services, code="F", name="Phúc", region="Đà Nẵng")
    await orders(services, c["F"], date(2026, 6, 1), 6)  # another region, steady
    await orders(services, c["F"], date(2026, 10, 5), 2)
    c["G"] = await make_customer(services, code="G", name="Giang", region="ha noi")
    await orders(services, c["G"], date(2026, 4, 10), 12, every=14)  # same region, no accents
    # none in the window where 4 were due (P = 1.7 %): lost
    c["H"] = await make_customer(services, code="H", name="Hà", region="Hà Nội")
    await orders(services, c["H"], date(2026, 4, 8), 25, every=7)
    await orders(services, c["H"], date(2026, 10, 2), 8, every=7, amount=100_000)  # spend -91%
    return c


async def test_vi_on_a_hand_computed_fixture(services: Services) -> None:
    await fixture(services)
    campaign = await services.loyalty.watch("Điện Máy X", "Hà Nội", START, END, "giảm 30%")
    services.clock.now = datetime(2026, 12, 15, 3, tzinfo=UTC)
    vi = await services.loyalty.vulnerability(campaign.id)
    assert vi is not None
    assert (vi.baseline_days, vi.window_days, vi.window_complete) == (180, 61, True)
    assert vi.window_end == date(2026, 11, 30)
    assert vi.observed == 5  # A, B, C, G, H: not the one-off buyer D
    assert [w.code for w in vi.vulnerable] == ["G", "H", "A"]  # steepest decline first
    assert vi.index == pytest.approx(60.0)
    a = next(w for w in vi.vulnerable if w.code == "A")
    assert (a.baseline_orders, a.window_orders) == (25, 1)
    assert a.order_decline == pytest.approx(1 - (1 / 61) / (25 / 180))
    h = next(w for w in vi.vulnerable if w.code == "H")
    assert (
        h.order_decline
        < 0.5
        < h.amount_decline
        == pytest.approx(1 - (800_000 / 61) / (25_000_000 / 180))
    )
    # Nothing a year before to compare with: the reading is of the VI itself.
    assert vi.comparison is not None and vi.comparison.kind == "year_before"
    assert (vi.comparison.observed, vi.comparison.index, vi.effect) == (0, None, None)
    assert vi.reading == "high"


async def test_another_region_separates_the_competitors_effect(services: Services) -> None:
    await fixture(services)
    campaign = await services.loyalty.watch("Điện Máy X", "Hà Nội", START, END)
    services.clock.now = datetime(2026, 12, 15, 3, tzinfo=UTC)
    vi = await services.loyalty.vulnerability(campaign.id, compare_region="Da Nang")
    assert vi.comparison.kind == "region"
    assert (vi.comparison.observed, vi.comparison.vulnerable, vi.comparison.index) == (1, 0, 0.0)
    assert vi.effect == pytest.approx(60.0) and vi.reading == "high"


async def test_the_same_dip_a_year_before_is_the_season_not_the_competitor(
    services: Services,
) -> None:
    for year in (2025, 2026):
        for n in range(4):
            who = await make_customer(services, code=f"K{year}{n}", region="Huế")
            # weekly all spring and summer, then a break every October-November
            await orders(services, who, date(year, 4, 8), 25, every=7)
            if n == 0:
                await orders(services, who, date(year, 10, 3), 8, every=7)
    campaign = await services.loyalty.watch("Z", "Huế", START, END)
    services.clock.now = datetime(2026, 12, 15, 3, tzinfo=UTC)
    vi = await services.loyalty.vulnerability(campaign.id)
    assert vi.index == pytest.approx(75.0)  # 3 of 4 stopped...
    assert vi.comparison.index == pytest.approx(75.0)  # ... as 3 of 4 did a year before
    assert vi.effect == pytest.approx(0.0) and vi.reading == "low"
    services.settings.vi_reading_thresholds = [-5.0, 0.0]
    assert (await services.loyalty.vulnerability(campaign.id)).reading == "high"


async def test_a_decline_of_exactly_the_threshold_is_not_vulnerable(services: Services) -> None:
    services.settings.vi_baseline_days = 60
    services.settings.vi_after_window_days = 0
    steady = await make_customer(services, region="Hà Nội")
    await orders(services, steady, date(2026, 8, 5), 4, every=14)  # 4 in 60 days
    await make_order(services, steady, placed_at=day(date(2026, 10, 10)))  # 1 in 30: -50%
    campaign = await services.loyalty.watch("Y", "Hà Nội", date(2026, 10, 1), date(2026, 10, 30))
    services.clock.now = datetime(2026, 12, 1, 3, tzinfo=UTC)
    vi = await services.loyalty.vulnerability(campaign.id)
    assert vi is not None and (vi.observed, vi.vulnerable, vi.index) == (1, [], 0.0)


async def test_a_running_window_is_measured_up_to_today(services: Services) -> None:
    c = await fixture(services)
    campaign = await services.loyalty.watch("Điện Máy X", "Hà Nội", START, END)
    services.clock.now = datetime(2026, 10, 20, 3, tzinfo=UTC)
    vi = await services.loyalty.vulnerability(campaign.id)
    assert vi is not None
    assert (vi.window_days, vi.window_complete) == (20, False)
    b = await services.loyalty.vulnerability(campaign.id, today=date(2026, 9, 30))
    assert b is not None and (b.window_days, b.index, b.observed) == (0, None, 5)
    assert c  # the fixture's customers exist


async def test_watch_refuses_what_cannot_be_a_campaign(services: Services) -> None:
    with pytest.raises(LoyaltyProblem):
        await services.loyalty.watch("X", "Hà Nội", END, START)
    with pytest.raises(LoyaltyProblem):
        await services.loyalty.watch(" ", "Hà Nội", START, END)
    assert await services.loyalty.vulnerability() is None
    assert await services.loyalty.campaigns() == []


@pytest.fixture
def cli_env(tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")  # tables unwrapped
    return tmp_cwd


def test_the_cli_watches_and_lists_vulnerable_customers(cli_env: Path) -> None:
    async def seed() -> None:
        services = build_services(
            Settings(_env_file=None, database_url=f"sqlite:///{cli_env / 'cli.db'}")
        )
        await services.start()
        try:
            lan = await make_customer(
                services, code="KH-LAN", name="Nguyễn Thị Lan", region="Hà Nội"
            )
            await orders(services, lan, date(2024, 12, 1), 12, every=7)  # none from March on
        finally:
            await services.close()

    asyncio.run(seed())
    runner = CliRunner()
    watched = runner.invoke(
        cli,
        [
            "loyalty",
            "watch",
            "--competitor",
            "Điện Máy X",
            "--region",
            "Ha Noi",
            "--start",
            "01/03/2025",
            "--end",
            "31/03/2025",
        ],
    )
    assert watched.exit_code == 0, watched.output
    assert "watching campaign #1" in watched.output and "VI = 100.0%" in watched.output
    shown = runner.invoke(cli, ["loyalty", "vi", "1"])
    assert shown.exit_code == 0, shown.output
    assert "KH-LAN" in shown.output and "Nguyễn Thị" in shown.output  # the name may wrap
    listed = runner.invoke(cli, ["loyalty", "list"])
    assert "Điện Máy X" in listed.output and "100.0%" in listed.output
    assert "high" in listed.output
    assert "reading: HIGH" in shown.output
    create = ["campaign", "create", "--name", "Giữ chân", "--template-vi", "Chào {{ name }}"]
    retain = runner.invoke(cli, [*create, "--vulnerable-of", "1", "--holdout", "0%"])
    assert retain.exit_code == 0, retain.output
    dry = runner.invoke(cli, ["campaign", "send", "Giữ chân", "--dry-run"])
    assert "audience: 1" in dry.output
    nothing = runner.invoke(
        cli, ["campaign", "create", "--name", "X", "--template-vi", "x", "--vulnerable-of", "9"]
    )
    assert nothing.exit_code == 1 and "no competitor campaign #9" in nothing.output
    missing = runner.invoke(cli, ["loyalty", "vi", "9"])
    assert missing.exit_code == 1 and "no such campaign" in missing.output
    backwards = runner.invoke(
        cli,
        [
            "loyalty",
            "watch",
            "--competitor",
            "X",
            "--region",
            "Y",
            "--start",
            "02/03/2025",
            "--end",
            "01/03/2025",
        ],
    )
    assert backwards.exit_code == 1 and "ends before it starts" in backwards.output
