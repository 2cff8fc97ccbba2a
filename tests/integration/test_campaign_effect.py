"""What a campaign brought: a random share of the audience is held out (recorded, never
contacted), and after the window the two groups' orders are compared with a confidence
interval. The automatic programmes hold out a share the same way."""

import math
from datetime import timedelta

import pytest
from scipy import stats
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.analytics import EffectProblem
from care.core.models import CareAssignment, ClassificationChange, CustomerMetrics
from care.outreach import CampaignError, CampaignSpec
from tests.builders import database_env, make_customer, make_order, outbox_rows, with_services


async def audience(services, n):
    return [
        await make_customer(services, consent_telegram=True, telegram_user_id=70_000 + i)
        for i in range(n)
    ]


async def assignments(services, **where):
    async with services.db.uow() as uow:
        rows = list(await uow.session.scalars(select(CareAssignment).filter_by(**where)))
        uow.session.expunge_all()
    return rows


def spec(name="Khuyến mãi 12", **fields):
    return CampaignSpec.parse({"name": name, "template": {"vi": "Ưu đãi cho {{ name }}"}, **fields})


async def test_a_campaign_holds_out_its_share_and_contacts_only_the_rest(services):
    await audience(services, 40)
    await services.care.campaigns.create(spec(holdout=0.25))
    assert (await services.care.campaigns.dry_run("Khuyến mãi 12")).held_out == 10
    queued = await services.care.campaigns.start("Khuyến mãi 12")
    assert queued == 30
    recorded = await assignments(services)
    held = {a.customer_id for a in recorded if a.held_out}
    assert len(recorded) == 40 and len(held) == 10
    messaged = {row.customer_id for row in await outbox_rows(services, "campaign:")}
    assert len(messaged) == 30 and not messaged & held


async def test_the_default_holdout_is_ten_percent_and_a_larger_one_is_refused(services):
    assert spec().holdout == 0.10
    with pytest.raises(CampaignError, match="holdout"):
        spec(holdout=0.8)


async def test_the_report_compares_contacted_and_held_out_with_a_confidence_interval(
    services, clock
):
    customers = await audience(services, 40)
    await services.care.campaigns.create(spec(holdout=0.25, measure_days=30))
    await services.care.campaigns.start("Khuyến mãi 12")
    held = {a.customer_id for a in await assignments(services) if a.held_out}
    start = clock()
    contacted = [c for c in customers if c.id not in held]
    for i, customer in enumerate(contacted):  # half of them buy 2.000.000 ₫ in the window
        if i % 2 == 0:
            await make_order(
                services,
                customer,
                placed_at=start + timedelta(days=3),
                amount=2_000_000,
                margin=400_000,
            )
    outside = contacted[1]
    await make_order(services, outside, placed_at=start - timedelta(days=1))  # before
    await make_order(services, outside, placed_at=start + timedelta(days=31))  # after
    await make_order(
        services, outside, placed_at=start + timedelta(days=2), status="cancelled"
    )  # not a purchase
    clock.advance(days=40)

    report = await services.effects.campaign("Khuyến mãi 12")
    assert report.complete and report.measure_days == 30
    assert (report.contacted.customers, report.held_out.customers) == (30, 10)
    assert (report.contacted.buyers, report.contacted.orders) == (15, 15)
    assert report.contacted.revenue == 30_000_000 and report.contacted.margin == 6_000_000
    assert report.held_out.revenue == 0 and report.held_out.buyers == 0
    revenue = report.revenue
    assert revenue.difference == 1_000_000
    sd = 1_000_000 * math.sqrt(30 / 29)  # 15 of 0 and 15 of 2.000.000 ₫
    half = stats.t.ppf(0.975, 29) * sd / math.sqrt(30)  # the held out do not vary
    assert revenue.low == pytest.approx(1_000_000 - half)
    assert revenue.high == pytest.approx(1_000_000 + half)
    assert revenue.significant
    assert report.conversion.difference == pytest.approx(0.5)
    assert report.incremental_revenue == pytest.approx(30_000_000)


async def test_voucher_redemptions_of_the_campaign_show_in_its_report(services, clock):
    customers = await audience(services, 3)
    await services.care.campaigns.create(spec(holdout=0.0))
    await services.care.campaigns.start("Khuyến mãi 12")
    vouchers = await services.vouchers.issue(
        kind="amount",
        value=100_000,
        customer_ids=[c.id for c in customers],
        campaign="Khuyến mãi 12",
    )
    order = await make_order(services, customers[0], placed_at=clock(), amount=900_000)
    await services.vouchers.redeem(vouchers[0].code, order.code)
    report = await services.effects.campaign("Khuyến mãi 12")
    assert (report.vouchers_issued, report.vouchers_redeemed) == (3, 1)
    assert report.voucher_revenue == 900_000 and report.contacted.vouchers_redeemed == 1
    assert report.revenue is None  # nobody held out: nothing to compare with
    assert not report.complete


async def test_a_campaign_not_started_has_nothing_to_measure(services):
    await services.care.campaigns.create(spec())
    with pytest.raises(EffectProblem, match="has not started"):
        await services.effects.campaign("Khuyến mãi 12")
    with pytest.raises(EffectProblem, match="no campaign"):
        await services.effects.campaign("Không có")


async def test_win_back_holds_out_its_share_and_keeps_the_draw(services, clock):
    services.settings.programme_holdout = {"win_back": 1.0}  # everyone, to be sure
    slipping = await make_customer(services, telegram_user_id=8040, consent_telegram=True)
    async with services.db.uow() as uow:
        uow.session.add(
            CustomerMetrics(customer_id=slipping.id, as_of=clock().date(), segment="at_risk")
        )
        uow.session.add(
            ClassificationChange(
                customer_id=slipping.id,
                field="segment",
                old_value="loyal",
                new_value="at_risk",
                changed_at=clock() - timedelta(days=1),
                as_of=clock().date(),
            )
        )
        await uow.commit()
    first = await services.care.win_back()
    assert (first.queued, first.held_out) == (0, 1)
    services.settings.programme_holdout = {"win_back": 0.0}
    again = await services.care.win_back()
    assert (again.queued, again.held_out) == (0, 1)  # the draw is kept
    assert await outbox_rows(services, "winback:") == []
    [recorded] = await assignments(services, programme="win_back")
    assert recorded.held_out and recorded.customer_id == slipping.id
    report = await services.effects.programme("win_back")
    assert (report.contacted.customers, report.held_out.customers) == (0, 1)
    with pytest.raises(EffectProblem, match="unknown programme"):
        await services.effects.programme("newsletter")


def test_the_cli_creates_a_campaign_with_a_holdout_and_reports_its_effect(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")
    with_services(settings, lambda services: audience(services, 20))
    runner = CliRunner()
    bad = runner.invoke(
        cli, ["campaign", "create", "--name", "X", "--template-vi", "Chào", "--holdout", "80%"]
    )
    assert bad.exit_code == 1 and "between 0% and 50%" in bad.output
    created = runner.invoke(
        cli, ["campaign", "create", "--name", "Noel", "--template-vi", "Chào", "--holdout", "20%"]
    )
    assert created.exit_code == 0, created.output
    dry = runner.invoke(cli, ["campaign", "send", "Noel", "--dry-run"])
    assert "held out at random, not contacted: 4" in dry.output
    early = runner.invoke(cli, ["campaign", "report", "Noel"])
    assert early.exit_code == 1 and "has not started" in early.output
    sent = runner.invoke(cli, ["campaign", "send", "Noel", "--no-dispatch"])
    assert sent.exit_code == 0, sent.output
    report = runner.invoke(cli, ["campaign", "report", "Noel"])
    assert report.exit_code == 0, report.output
    assert "contacted" in report.output and "held out" in report.output
    assert "uplift in revenue per customer: 0 ₫" in report.output
    neither = runner.invoke(cli, ["campaign", "report"])
    assert neither.exit_code == 1 and "name a campaign" in neither.output


async def test_a_campaign_with_a_voucher_gives_each_contacted_customer_a_code(services):
    await audience(services, 20)
    await services.care.campaigns.create(
        spec(
            "Mã tháng 12",
            holdout=0.25,
            template={"vi": "Tặng {{ name }} mã {{ voucher }} giảm {{ voucher_value }}"},
            voucher={"kind": "amount", "value": 150_000, "valid_days": 14},
        )
    )
    assert await services.care.campaigns.start("Mã tháng 12") == 15
    vouchers = await services.vouchers.list(campaign="Mã tháng 12")
    held = {a.customer_id for a in await assignments(services) if a.held_out}
    assert len(vouchers) == 15 and not {v.customer_id for v in vouchers} & held
    rows = {row.customer_id: row.body for row in await outbox_rows(services, "campaign:")}
    for v in vouchers:
        assert f"mã {v.code} giảm 150.000 ₫" in rows[v.customer_id]
    report = await services.effects.campaign("Mã tháng 12")
    assert (report.vouchers_issued, report.vouchers_redeemed) == (15, 0)
