"""RFM scores and segments, 80/20 tiers, changes, --as-of, reclassification, CLV, runs, export."""

from __future__ import annotations

import asyncio
import csv
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.cli import app as cli
from care.analytics import ltv
from care.analytics.segmentation import (
    EXPORT_COLUMNS,
    SEGMENTS,
    _purchases_sql,
    f_scores,
    fit_of_run,
    m_scores,
    r_scores,
    segment_case_sql,
    segment_codes,
    segment_for,
    tier_case_sql,
    tier_codes,
)
from care.core.models import ClassificationChange, Customer, CustomerMetrics, Order
from care.core.settings import Settings
from care.io import write_table
from care.services import Services, build_services
from tests.builders import database_env, make_customer, make_order

# name: (days since the last order, number of orders) -> expected (R, F, segment).
# Ten buyers, so each quintile holds two of them; recency and frequency are all distinct.
RFM_FIXTURE = {
    "A": ((1, 9), (5, 5, "champions")),
    "B": ((2, 1), (5, 1, "new")),
    "C": ((5, 5), (4, 3, "loyal")),
    "D": ((6, 3), (4, 2, "potential")),
    "E": ((20, 7), (3, 4, "loyal")),
    "F": ((25, 8), (3, 4, "loyal")),
    "G": ((100, 10), (2, 5, "cant_lose")),
    "H": ((120, 2), (2, 1, "hibernating")),
    "I": ((300, 4), (1, 2, "lost")),
    "J": ((400, 6), (1, 3, "at_risk")),
}


async def metrics(services: Services) -> dict[int, CustomerMetrics]:
    async with services.db.uow() as uow:
        rows = (await uow.session.scalars(select(CustomerMetrics))).all()
        uow.session.expunge_all()
        return {m.customer_id: m for m in rows}


async def buy(
    services: Services,
    customer: Customer,
    *,
    last_days_ago: int,
    orders: int,
    amount: int = 1_000_000,
    margin: int = 200_000,
) -> None:
    now = services.clock()
    for k in range(orders):
        await make_order(
            services,
            customer,
            placed_at=now - timedelta(days=last_days_ago + 3 * k),
            amount=amount,
            margin=margin,
        )


@pytest.mark.parametrize(("r", "f"), list(itertools.product(range(1, 6), repeat=2)))
async def test_every_score_pair_has_one_segment_and_sql_agrees(
    services: Services, r: int, f: int
) -> None:
    expected = segment_for(r, f)
    assert expected in SEGMENTS
    async with services.db.uow() as uow:
        sql = f"SELECT {segment_case_sql('r', 'f')} FROM (SELECT {r} AS r, {f} AS f) t"
        assert (await uow.session.execute(text(sql))).scalar_one() == expected


async def test_rfm_scores_and_segments_on_a_hand_made_fixture(services: Services) -> None:
    customers = {}
    for name, ((days, orders), _) in RFM_FIXTURE.items():
        customers[name] = await make_customer(services, name=f"Khách {name}")
        await buy(services, customers[name], last_days_ago=days, orders=orders)
    # noise that must not count: a cancelled order and an inquiry for B
    now = services.clock()
    await make_order(
        services,
        customers["B"],
        placed_at=now - timedelta(days=1),
        status="cancelled",
        amount=90_000_000,
    )
    await make_order(services, customers["B"], placed_at=now, kind="inquiry", status="open")
    prospect = await make_customer(services, name="Chỉ hỏi giá")
    await make_order(services, prospect, placed_at=now, kind="inquiry", status="open")

    summary = await services.segmentation.recompute()

    got = await metrics(services)
    for name, ((days, orders), (r, f, segment)) in RFM_FIXTURE.items():
        m = got[customers[name].id]
        assert (m.recency_days, m.frequency) == (days, orders), name
        assert (m.r_score, m.f_score, m.m_score, m.segment) == (r, f, f, segment), name
        assert m.monetary == orders * 1_000_000
    never = got[prospect.id]
    assert (never.frequency, never.r_score, never.segment) == (0, None, None)
    assert never.tier == "member"
    assert summary.buyers == 10 and summary.customers == 11
    assert summary.segments == {
        "champions": 1,
        "loyal": 3,
        "new": 1,
        "potential": 1,
        "cant_lose": 1,
        "at_risk": 1,
        "hibernating": 1,
        "lost": 1,
    }


async def test_individuals_and_organizations_are_also_scored_separately(
    services: Services,
) -> None:
    # Individuals buy more and more recently; the best organization is only middling
    # among everyone but the champion among organizations.
    for days, orders in ((1, 10), (2, 9), (3, 8), (4, 7), (5, 6)):
        await buy(services, await make_customer(services), last_days_ago=days, orders=orders)
    companies = []
    for days, orders in ((150, 3), (200, 2), (250, 2), (300, 1), (350, 1)):
        company = await make_customer(services, kind="organization", name=f"Công ty {days}")
        await buy(services, company, last_days_ago=days, orders=orders)
        companies.append(company)
    await services.segmentation.recompute()
    best = (await metrics(services))[companies[0].id]
    assert (best.r_score, best.f_score, best.segment) == (3, 3, "loyal")
    by_kind = await services.segmentation.kind_segment_counts()
    assert by_kind["organization"]["champions"] == 1
    assert sum(by_kind["organization"].values()) == sum(by_kind["individual"].values()) == 5


async def test_two_of_ten_customers_making_80_percent_are_the_top_tier(
    services: Services,
) -> None:
    big = [await make_customer(services) for _ in range(2)]
    small = [await make_customer(services) for _ in range(8)]
    for c in big:
        await make_order(services, c, margin=400_000)
    for c in small:
        await make_order(services, c, margin=25_000)
    summary = await services.segmentation.recompute()
    got = await metrics(services)
    assert {got[c.id].tier for c in big} == {"diamond"}
    assert [got[c.id].tier for c in small].count("diamond") == 0
    # shares before each small customer: 80, 82.5, ... 92.5 (gold), 95, 97.5 (silver)
    assert summary.tiers == {"diamond": 2, "gold": 6, "silver": 2, "member": 0}


async def test_a_tier_change_is_recorded_with_its_date(services: Services) -> None:
    big = [await make_customer(services) for _ in range(2)]
    small = [await make_customer(services) for _ in range(8)]
    for c in big:
        await make_order(services, c, margin=400_000)
    for c in small:
        await make_order(services, c, margin=25_000)
    first = await services.segmentation.recompute()
    assert (first.tier_changes, first.segment_changes) == (0, 0)  # first run: no changes

    riser = small[-1]
    await make_order(services, riser, margin=5_000_000)
    services.clock.advance(days=1)
    second = await services.segmentation.recompute()
    assert second.tier_changes >= 1
    changes = await services.segmentation.changes(field="tier")
    mine = [c for c in changes if c.customer_id == riser.id]
    assert len(mine) == 1
    assert (mine[0].old_value, mine[0].new_value) == ("silver", "diamond")
    assert mine[0].as_of == date(2026, 11, 24)
    assert mine[0].changed_at == services.clock()


async def test_a_customer_slipping_to_at_risk_is_recorded(services: Services) -> None:
    regulars = []
    for i in range(10):
        c = await make_customer(services)
        await buy(services, c, last_days_ago=1 + i, orders=10 - i)
        regulars.append(c)
    await services.segmentation.recompute()
    frequent = regulars[1]  # R 5, F 5: a champion
    assert (await metrics(services))[frequent.id].segment == "champions"
    services.clock.advance(days=200)
    for c in regulars[2:]:  # everyone else keeps buying
        await make_order(services, c, placed_at=services.clock() - timedelta(days=1))
    await services.segmentation.recompute()
    became = await services.segmentation.changes(field="segment", new_value="at_risk")
    assert frequent.id in {c.customer_id for c in became}


async def test_as_of_ignores_later_orders(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan, placed_at=datetime(2026, 6, 1, 3, tzinfo=UTC), amount=1_000)
    await make_order(services, lan, placed_at=datetime(2026, 6, 30, 16, tzinfo=UTC), amount=2_000)
    # 30/06 17:30 UTC is already 01/07 in Ho Chi Minh City: after an as-of of 30/06
    await make_order(
        services, lan, placed_at=datetime(2026, 6, 30, 17, 30, tzinfo=UTC), amount=4_000
    )
    await make_order(services, lan, placed_at=datetime(2026, 10, 1, 3, tzinfo=UTC), amount=8_000)
    summary = await services.segmentation.recompute(as_of=date(2026, 6, 30))
    m = (await metrics(services))[lan.id]
    assert summary.as_of == m.as_of == date(2026, 6, 30)
    assert (m.frequency, m.monetary, m.recency_days) == (2, 3_000, 0)


async def test_erased_customers_are_left_out(services: Services) -> None:
    gone = await make_customer(services, erased_at=services.clock())
    await make_order(services, gone)
    kept = await make_customer(services)
    await make_order(services, kept)
    await services.segmentation.recompute()
    assert set(await metrics(services)) == {kept.id}


async def test_reclassify_customer_uses_the_last_run_and_records_the_change(
    services: Services,
) -> None:
    big = [await make_customer(services) for _ in range(2)]
    small = [await make_customer(services) for _ in range(8)]
    for c in big:
        await make_order(services, c, margin=400_000)
    for c in small:
        await make_order(services, c, margin=25_000, amount=100_000)
    await services.segmentation.recompute()

    riser = small[0]
    await make_order(services, riser, placed_at=services.clock(), margin=900_000, amount=3_000_000)
    result = await services.segmentation.reclassify_customer(riser.id)
    assert result is not None
    assert result.tier == "diamond"
    assert (result.frequency, result.recency_days) == (2, 0)
    assert (result.r_score, result.f_score, result.m_score) == (5, 5, 5)
    assert result.segment == "champions"
    m = (await metrics(services))[riser.id]
    assert (m.tier, m.frequency, m.historical_ltv) == ("diamond", 2, round(925_000 / 1.01))
    async with services.db.uow() as uow:
        changes = (
            await uow.session.scalars(
                select(ClassificationChange).where(ClassificationChange.customer_id == riser.id)
            )
        ).all()
        uow.session.expunge_all()
    assert {(c.field, c.new_value) for c in changes} >= {("tier", "diamond")}


async def test_reclassify_before_any_run_gives_the_base_tier(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan)
    result = await services.segmentation.reclassify_customer(lan.id)
    assert result is not None
    assert (result.tier, result.segment, result.r_score) == ("member", None, None)
    assert await services.segmentation.reclassify_customer(999_999) is None


async def test_too_little_history_gives_no_clv(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan, placed_at=services.clock() - timedelta(days=40))
    await make_order(services, lan, placed_at=services.clock() - timedelta(days=10))
    summary = await services.segmentation.recompute()
    assert summary.fit.bgnbd is None and "at least" in (summary.fit.bgnbd_problem or "")
    m = (await metrics(services))[lan.id]
    assert (m.expected_purchases_12m, m.p_alive, m.clv_12m) == (None, None, None)


async def insert_history(services: Services, customers: int, seed: int = 3) -> list[int]:
    """Many customers with a purchase history in a few bulk inserts."""
    import random

    rnd = random.Random(seed)
    now = services.clock()
    async with services.db.uow() as uow:
        people = [
            Customer(code=f"BULK{i:04d}", name=f"Khách {i}", kind="individual")
            for i in range(customers)
        ]
        uow.session.add_all(people)
        await uow.session.flush()
        n = 0
        for person in people:
            start = rnd.randint(60, 700)
            visits = 1 if rnd.random() < 0.4 else rnd.randint(2, 12)
            for _ in range(visits):
                n += 1
                amount = rnd.randint(200, 3000) * 1000
                uow.session.add(
                    Order(
                        code=f"BULK-O{n:06d}",
                        customer_id=person.id,
                        kind="order",
                        status="delivered",
                        placed_at=now - timedelta(days=rnd.randint(0, start)),
                        amount=amount,
                        margin=amount // 4,
                    )
                )
        await uow.commit()
        return [p.id for p in people]


async def test_clv_for_repeat_buyers_once_the_models_can_be_fitted(services: Services) -> None:
    await insert_history(services, 150)
    summary = await services.segmentation.recompute()
    fit = summary.fit
    assert fit.bgnbd is not None and fit.gamma_gamma is not None
    assert fit.bgnbd.time_unit == "weeks"
    got = list((await metrics(services)).values())
    repeaters = [m for m in got if m.frequency > 1]
    once = [m for m in got if m.frequency == 1]
    assert repeaters and once
    assert all(m.clv_12m is not None and m.clv_12m > 0 for m in repeaters)
    assert all(m.clv_12m is None for m in once)  # no repeat spend to estimate from
    assert all(0.0 <= (m.p_alive or 0) <= 1.0 for m in got)
    assert all(m.expected_purchases_12m is not None for m in got)


async def test_export_writes_one_row_per_customer_with_the_columns(
    services: Services, tmp_path: Path
) -> None:
    lan = await make_customer(services, name="Nguyễn Thị Lan", region="Hà Nội")
    await make_order(services, lan)
    await make_customer(services, name="Chưa mua")
    await services.segmentation.recompute()
    path = tmp_path / "customers.csv"
    count = await write_table(path, EXPORT_COLUMNS, services.segmentation.customer_rows())
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert count == len(rows) == 2
    assert tuple(rows[0]) == EXPORT_COLUMNS
    first = next(r for r in rows if r["code"] == lan.code)
    assert first["name"] == "Nguyễn Thị Lan" and first["region"] == "Hà Nội"
    assert (first["frequency"], first["monetary"], first["tier"]) == ("1", "1250000", "diamond")
    assert first["segment"] and first["segment_in_kind"]


@pytest.fixture
def cli_env(tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    return tmp_cwd


def test_the_cli_segments_and_exports(cli_env: Path) -> None:
    async def seed() -> None:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{cli_env / 'cli.db'}")
        services = build_services(settings)
        await services.start()
        try:
            lan = await make_customer(services)
            await make_order(services, lan, placed_at=datetime(2026, 3, 1, 3, tzinfo=UTC))
        finally:
            await services.close()

    asyncio.run(seed())
    runner = CliRunner()
    done = runner.invoke(cli, ["segment", "--as-of", "30/06/2026"])
    assert done.exit_code == 0, done.output
    assert "as of 30/06/2026: 1 customers, 1 have bought" in done.output
    assert "BG/NBD: not fitted" in done.output and "diamond" in done.output
    exported = runner.invoke(cli, ["export", "customers", "out.xlsx"])
    assert exported.exit_code == 0, exported.output
    from openpyxl import load_workbook

    sheet = load_workbook(cli_env / "out.xlsx").active
    assert tuple(c.value for c in sheet[1]) == EXPORT_COLUMNS
    assert sheet.max_row == 2
    bad = runner.invoke(cli, ["segment", "--as-of", "yesterday"])
    assert bad.exit_code == 1 and "not a date" in bad.output
    wrong = runner.invoke(cli, ["export", "customers", "out.pdf"])
    assert wrong.exit_code == 1 and ".csv or .xlsx" in wrong.output


async def test_an_imported_order_reclassifies_its_customer_at_once(
    services: Services, tmp_path: Path
) -> None:
    lan = await make_customer(services, code="KH-LAN")
    for n in range(6):
        other = await make_customer(services)
        await make_order(services, other, amount=1_000_000 * (n + 1), margin=100_000 * (n + 1))
    await make_order(services, lan, amount=500_000, margin=50_000)
    await services.segmentation.recompute()
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "code,customer_code,kind,status,placed_at,delivered_at,amount,margin\n"
        "DH-NEW-1,KH-LAN,order,delivered,2026-11-20,2026-11-21,90000000,30000000\n",
        encoding="utf-8",
    )

    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["import", "orders", str(orders)],
        env={**database_env(services.settings), "COLUMNS": "200"},
    )

    assert result.exit_code == 0, result.output
    assert "1 customers re-classified" in result.output
    async with services.db.uow() as uow:
        metrics = await uow.session.get(CustomerMetrics, lan.id)
        assert metrics.frequency == 2
        assert metrics.monetary == 90_500_000
        assert metrics.tier == services.settings.tier_names[0]


async def test_a_full_run_is_recorded_with_the_models_it_fitted(services: Services) -> None:
    await insert_history(services, 150)
    summary = await services.segmentation.recompute()
    run = await services.segmentation.last_run()
    assert run is not None
    assert (run.as_of, run.customers, run.buyers) == (date(2026, 11, 23), 150, summary.buyers)
    assert (run.tier_changes, run.segment_changes) == (0, 0)
    assert run.seconds > 0 and run.computed_at == services.clock()
    assert fit_of_run(run) == summary.fit
    assert run.time_unit == "weeks" and run.bgnbd_problem is None


async def test_a_run_without_models_says_why(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan)
    summary = await services.segmentation.recompute()
    run = await services.segmentation.last_run()
    assert run is not None and run.bgnbd_r is None and run.gamma_gamma_p is None
    assert fit_of_run(run) == summary.fit
    assert "at least" in (run.bgnbd_problem or "") and "at least" in (run.gamma_gamma_problem or "")


async def test_a_reclassification_after_a_restart_uses_the_persisted_fit(
    services: Services,
) -> None:
    await insert_history(services, 150)
    lan = await make_customer(services)
    now = services.clock()
    for days, margin in ((300, 100_000), (200, 200_000), (100, 300_000)):
        await make_order(services, lan, placed_at=now - timedelta(days=days), margin=margin)
    summary = await services.segmentation.recompute()
    assert summary.fit.bgnbd is not None and summary.fit.gamma_gamma is not None
    before = (await metrics(services))[lan.id]
    await make_order(services, lan, placed_at=now - timedelta(hours=2), margin=600_000)

    # a new process on the same database: nothing of the run is left in memory
    restarted = build_services(services.settings, clock=services.clock)
    await restarted.start()
    try:
        await restarted.segmentation.reclassify_customer(lan.id)
    finally:
        await restarted.close()

    after = (await metrics(services))[lan.id]
    today = (services.clock() + timedelta(hours=7)).date()
    first = today - timedelta(days=300)
    inputs = ltv.clv_inputs(
        np.array([4]),
        np.array([(first - ltv.EPOCH).days]),
        np.array([(today - ltv.EPOCH).days]),
        np.array([1_200_000]),
        np.array([100_000]),
        (today - ltv.EPOCH).days,
    )
    expected = ltv.predict(
        summary.fit,
        inputs,
        monthly_discount_rate=ltv.rate_per_month(
            services.settings.ltv_discount_rate, services.settings.ltv_period
        ),
    )
    assert after.clv_12m == round(float(expected.clv[0])) != before.clv_12m
    assert after.p_alive == pytest.approx(float(expected.p_alive[0]))
    assert after.expected_purchases_12m == pytest.approx(float(expected.expected_purchases[0]))


async def test_before_any_run_a_reclassification_keeps_the_stored_clv(services: Services) -> None:
    lan = await make_customer(services)
    await make_order(services, lan)
    async with services.db.uow() as uow:
        uow.session.add(
            CustomerMetrics(
                customer_id=lan.id,
                as_of=date(2026, 11, 1),
                frequency=1,
                monetary=1,
                tier="member",
                historical_ltv=1,
                clv_12m=123_456,
                computed_at=services.clock(),
            )
        )
        await uow.commit()
    await services.segmentation.reclassify_customer(lan.id)
    assert (await metrics(services))[lan.id].clv_12m == 123_456


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_scores_and_tiers_agree_with_sql_window_functions(
    services: Services, seed: int
) -> None:
    """The numpy scoring against NTILE and the tier CASE in SQL, ties and all."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    ids = rng.permutation(np.arange(1, n + 1) * 3)
    recency = rng.integers(0, 6, n)
    frequency = rng.integers(1, 5, n)
    monetary = rng.integers(1, 4, n) * 1000
    value = rng.integers(-2, 5, n) * 10_000
    cutoffs = [0.5, 0.8, 0.95]
    names = ["a", "b", "c", "d"]
    rows = ", ".join(
        f"({i}, {r}, {f}, {m}, {v})"
        for i, r, f, m, v in zip(ids, recency, frequency, monetary, value, strict=True)
    )
    tier = tier_case_sql(cutoffs, "v", "COALESCE(before_, 0)", "total_")
    sql = f"""
        WITH t (id, r, f, m, v) AS (VALUES {rows}),
        s AS (
            SELECT id, v,
                NTILE(5) OVER (ORDER BY r DESC, f, id) AS rs,
                NTILE(5) OVER (ORDER BY f, m, id) AS fs,
                NTILE(5) OVER (ORDER BY m, f, id) AS ms,
                SUM(CASE WHEN v > 0 THEN v ELSE 0 END) OVER (
                    ORDER BY v DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ) AS before_,
                SUM(CASE WHEN v > 0 THEN v ELSE 0 END) OVER () AS total_
            FROM t
        )
        SELECT id, rs, fs, ms, {segment_case_sql("rs", "fs")}, {tier} FROM s ORDER BY id
    """
    async with services.db.uow() as uow:
        expected = (
            await uow.session.execute(
                text(sql), {f"tier_{i}": name for i, name in enumerate(names)}
            )
        ).all()
    order = np.argsort(ids)
    r = r_scores(ids, recency, frequency)
    f = f_scores(ids, frequency, monetary)
    m = m_scores(ids, monetary, frequency)
    segments = segment_codes(r, f)
    tiers = tier_codes(ids, value, cutoffs)
    got = [
        (int(ids[i]), int(r[i]), int(f[i]), int(m[i]), SEGMENTS[segments[i]], names[tiers[i]])
        for i in order
    ]
    assert got == [tuple(row) for row in expected]


async def test_sqlite_reads_the_counted_orders_in_index_order_without_sorting(
    services: Services,
) -> None:
    if services.db.dialect != "sqlite":
        pytest.skip("the plan asserted is SQLite's")
    sql = _purchases_sql("sqlite", "month", days_table=None)
    frame = services.segmentation.frame()
    params = {**ltv.frame_params(frame, "sqlite"), "cutoff": "2026-11-23 17:00:00.000000"}
    async with services.db.uow() as uow:
        rows = (await uow.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params)).all()
    plan = " | ".join(str(row[-1]) for row in rows)
    assert "SCAN o USING INDEX ix_orders_counted" in plan
    assert "TEMP B-TREE FOR GROUP BY" not in plan and "ORDER BY" not in plan


async def test_orders_before_1970_are_summed_the_slow_way_and_still_right(
    services: Services,
) -> None:
    old = await make_customer(services)
    await make_order(services, old, placed_at=datetime(1969, 6, 15, 3, tzinfo=UTC), margin=100_000)
    await make_order(services, old, placed_at=datetime(2026, 10, 5, 3, tzinfo=UTC), margin=100_000)
    await services.segmentation.recompute()
    m = (await metrics(services))[old.id]
    months = (2026 * 12 + 9) - (1969 * 12 + 5) + 1
    assert (m.frequency, m.monetary) == (2, 2_500_000)
    assert m.historical_ltv == ltv.historical_ltv([(1, 100_000), (months, 100_000)], 0.01)


@pytest.mark.postgres
async def test_postgresql_shifts_by_the_fixed_offset_only_where_the_zone_kept_it(
    services: Services,
) -> None:
    """In a zone with daylight saving the shortcut covers only the time since the last
    change of offset; older orders get the zone's rules."""
    services.settings.timezone = "Europe/Berlin"
    chi = await make_customer(services)
    # 31/03 22:30 UTC is already April in Berlin (summer time, UTC+2): April is month 1
    await make_order(
        services, chi, placed_at=datetime(2026, 3, 31, 22, 30, tzinfo=UTC), margin=100_000
    )
    # 01/11 23:30 UTC is 02/11 in Berlin (winter time, UTC+1)
    await make_order(
        services, chi, placed_at=datetime(2026, 11, 1, 23, 30, tzinfo=UTC), margin=100_000
    )
    await services.segmentation.recompute(as_of=date(2026, 11, 23))
    m = (await metrics(services))[chi.id]
    assert m.historical_ltv == ltv.historical_ltv([(1, 100_000), (8, 100_000)], 0.01)
    assert m.recency_days == 21
