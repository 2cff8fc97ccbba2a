"""Vouchers: issued per customer or campaign, refused with a reason when they cannot be
used, redeemed once by an order (an import's voucher column, staff), and reported."""

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import Order
from care.io import import_orders
from care.outreach import CampaignSpec
from care.vouchers import Refusal, VoucherProblem, VoucherRefused
from tests.builders import add_metrics, database_env, make_customer, make_order, with_services

TODAY = date(2026, 11, 23)  # the clock's day in Ho Chi Minh City


def write_orders(path: Path, rows: list[dict]) -> Path:
    header = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def order_row(code, customer, voucher="", **fields):
    row = {
        "code": code,
        "customer_code": customer,
        "kind": "order",
        "status": "delivered",
        "placed_at": "2026-11-23 09:00",
        "delivered_at": "",
        "amount": "2.000.000",
        "margin": "500.000",
        "voucher": voucher,
    }
    row.update(fields)
    return row


async def test_a_customers_voucher_is_checked_and_refused_for_anyone_else(services):
    lan = await make_customer(services)
    nam = await make_customer(services)
    [voucher] = await services.vouchers.issue(kind="amount", value=100_000, customer_ids=[lan.id])
    assert voucher.valid_from == TODAY and voucher.valid_until == TODAY + timedelta(days=30)
    assert (await services.vouchers.check(voucher.code.lower(), lan.id)).ok
    other = await services.vouchers.check(voucher.code, nam.id)
    assert other.refusal == Refusal.NOT_YOURS
    assert (await services.vouchers.check("K7RMX-EHT4P")).refusal == Refusal.UNKNOWN


async def test_expired_future_and_other_tier_vouchers_are_refused(services):
    gold = await make_customer(services)
    await add_metrics(services, gold, tier="gold")
    vouchers = services.vouchers
    [old] = await vouchers.issue(
        kind="percent", value=10, valid_from=date(2026, 10, 1), valid_until=date(2026, 10, 31)
    )
    [later] = await vouchers.issue(kind="percent", value=10, valid_from=date(2026, 12, 24))
    [diamond_only] = await vouchers.issue(kind="amount", value=500_000, tiers=["diamond"])
    assert (await vouchers.check(old.code, gold.id)).refusal == Refusal.EXPIRED
    assert (await vouchers.check(later.code, gold.id)).refusal == Refusal.NOT_YET_VALID
    assert (await vouchers.check(diamond_only.code, gold.id)).refusal == Refusal.TIER


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "percent", "value": 120}, "1 to 100"),
        ({"kind": "amount", "value": 0}, "more than 0"),
        ({"kind": "gift", "value": 1}, "unknown voucher kind"),
        ({"kind": "amount", "value": 1, "tiers": ["platinum"]}, "unknown tier"),
        ({"kind": "amount", "value": 1, "campaign": "Nope"}, "no campaign"),
        (
            {"kind": "amount", "value": 1, "valid_from": TODAY, "valid_until": date(2026, 1, 1)},
            "expire before",
        ),
    ],
)
async def test_bad_vouchers_are_not_issued(services, fields, problem):
    with pytest.raises(VoucherProblem, match=problem):
        await services.vouchers.issue(**fields)
    assert await services.vouchers.list() == []


async def test_an_order_redeems_a_code_once_and_a_second_order_is_refused(services):
    lan = await make_customer(services)
    first = await make_order(services, lan, amount=3_000_000, placed_at=services.clock())
    second = await make_order(services, lan, placed_at=services.clock())
    [voucher] = await services.vouchers.issue(kind="percent", value=10, customer_ids=[lan.id])
    redeemed = await services.vouchers.redeem(voucher.code, first.code)
    assert redeemed.order_code == first.code and redeemed.worth(3_000_000) == 300_000
    again = await services.vouchers.redeem(voucher.code, first.code)  # the same order: no change
    assert again.order_code == first.code
    with pytest.raises(VoucherRefused) as refused:
        await services.vouchers.redeem(voucher.code, second.code)
    assert refused.value.reason == Refusal.USED
    assert (await services.vouchers.check(voucher.code, lan.id)).refusal == Refusal.USED


async def test_an_imported_order_carrying_a_code_redeems_it_with_its_delivery_date(
    services, tmp_path
):
    lan = await make_customer(services, code="KH001")
    [voucher] = await services.vouchers.issue(kind="amount", value=200_000, customer_ids=[lan.id])
    path = write_orders(
        tmp_path / "o.csv",
        [
            order_row("DH001", "KH001", voucher.code.replace("-", " ").lower()),
            order_row("DH002", "KH001", delivery_date="25/11/2026"),
        ],
    )
    report = await import_orders(services.db, path, vouchers=services.vouchers)
    assert report.ok, report.errors
    [used] = await services.vouchers.list(redeemed=True)
    assert used.order_code == "DH001"
    async with services.db.uow() as uow:
        second = await uow.session.scalar(select(Order).where(Order.code == "DH002"))
        assert second.delivery_date == date(2026, 11, 25)
    again = await import_orders(services.db, path, vouchers=services.vouchers)
    assert again.ok  # a re-import is no second redemption


async def test_an_import_with_a_refused_code_imports_nothing_and_says_why(services, tmp_path):
    lan = await make_customer(services, code="KH001")
    await make_customer(services, code="KH002")
    [voucher] = await services.vouchers.issue(kind="amount", value=200_000, customer_ids=[lan.id])
    path = write_orders(
        tmp_path / "o.csv",
        [
            order_row("DH001", "KH001"),
            order_row("DH002", "KH002", voucher.code),
            order_row("YC001", "KH001", voucher.code, kind="inquiry", status="open"),
            order_row("DH003", "KH001", "NOT-A-CODE"),
        ],
    )
    report = await import_orders(services.db, path, vouchers=services.vouchers)
    assert [str(e) for e in report.errors] == [
        "row 4: an inquiry cannot redeem a voucher",
        "row 5: voucher 'NOT-A-CODE' is not a voucher code",
    ]
    path = write_orders(tmp_path / "o2.csv", [order_row("DH002", "KH002", voucher.code)])
    report = await import_orders(services.db, path, vouchers=services.vouchers)
    assert [str(e) for e in report.errors] == [
        f"row 2: voucher {voucher.code}: the voucher belongs to another customer"
    ]
    async with services.db.uow() as uow:
        assert list(await uow.session.scalars(select(Order))) == []
    assert await services.vouchers.list(redeemed=True) == []


async def test_the_report_counts_issued_redeemed_and_the_revenue_of_redeeming_orders(services):
    await services.care.campaigns.create(
        CampaignSpec.parse({"name": "Tết", "template": {"vi": "Chúc mừng năm mới"}})
    )
    lan = await make_customer(services)
    nam = await make_customer(services)
    codes = await services.vouchers.issue(
        kind="amount", value=100_000, customer_ids=[lan.id, nam.id], campaign="Tết"
    )
    await services.vouchers.issue(
        kind="percent", value=5, valid_from=date(2026, 10, 1), valid_until=date(2026, 10, 2)
    )
    order = await make_order(
        services, lan, amount=1_500_000, margin=300_000, placed_at=services.clock()
    )
    await services.vouchers.redeem(codes[0].code, order.code)
    report = await services.vouchers.report()
    assert (report.issued, report.redeemed, report.expired_unused) == (3, 1, 1)
    assert (report.orders_revenue, report.orders_margin, report.discount) == (
        1_500_000,
        300_000,
        100_000,
    )
    assert report.by_campaign == {"Tết": (2, 1, 1_500_000), None: (1, 0, 0)}
    only = await services.vouchers.report(campaign="Tết")
    assert only.issued == 2 and only.redemption_rate == 0.5


def test_the_voucher_commands_issue_check_redeem_and_report(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")

    async def setup(services):
        lan = await make_customer(services, code="KH-V1")
        # The command runs on the real clock: the order is placed now.
        await make_order(services, lan, code="DH-V1", placed_at=datetime.now(UTC))

    with_services(settings, setup)
    runner = CliRunner()
    issued = runner.invoke(cli, ["voucher", "issue", "100k", "--customer", "KH-V1"])
    assert issued.exit_code == 0, issued.output + str(issued.exception)
    assert "1 vouchers issued" in issued.output and "100.000 ₫" in issued.output
    [code] = [word for word in issued.output.split() if len(word) == 11 and word[5] == "-"]
    bad = runner.invoke(cli, ["voucher", "issue", "150%"])
    assert bad.exit_code == 1 and "1 to 100" in bad.output
    checked = runner.invoke(cli, ["voucher", "check", code, "--customer", "KH-V1"])
    assert checked.exit_code == 0 and "is valid" in checked.output
    redeemed = runner.invoke(cli, ["voucher", "redeem", code, "DH-V1"])
    assert redeemed.exit_code == 0 and "redeemed by order DH-V1" in redeemed.output
    used = runner.invoke(cli, ["voucher", "check", code])
    assert used.exit_code == 1 and "used by another order" in used.output
    report = runner.invoke(cli, ["voucher", "report"])
    assert "issued 1, redeemed 1 (100.0%)" in report.output
    assert "revenue 1.250.000 ₫" in report.output
    listed = runner.invoke(cli, ["voucher", "list", "--redeemed"])
    assert code in listed.output and "DH-V1" in listed.output
