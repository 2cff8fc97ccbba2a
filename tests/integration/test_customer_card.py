"""The staff customer card: lookup by code, phone or name, its contents, and policies."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import Complaint, Survey
from care.core.settings import Settings
from care.customers.policies import PolicyProblem
from care.services import Services, build_services
from tests.builders import make_customer, make_order


async def test_lookup_by_code_phone_and_name(services: Services) -> None:
    lan = await make_customer(services, code="KH-0042", name="Nguyễn Thị Lan", phone="+84912345678")
    await make_customer(services, code="KH-0043", name="Nguyễn Thị Lành")
    await make_customer(services, code="KH-0044", name="Trần Văn Đức")
    await make_customer(services, code="KH-0045", name="Nguyễn Thị Lan", erased_at=services.clock())
    cards = services.customer_cards

    assert [m.id for m in await cards.find("kh-0042")] == [lan.id]
    for phone in ("0912 345 678", "+84 912-345-678", "84912345678", "0912.345.678"):
        assert [m.code for m in await cards.find(phone)] == ["KH-0042"], phone
    assert [m.code for m in await cards.find("nguyen thi lan")] == ["KH-0042"]
    assert [m.code for m in await cards.find("Đức")] == ["KH-0044"]
    assert [m.code for m in await cards.find("duc")] == ["KH-0044"]
    several = [m.code for m in await cards.find("Nguyễn Thị")]
    assert sorted(several) == ["KH-0042", "KH-0043"]  # never the erased namesake
    typo = [m.code for m in await cards.find("Nguyen Thi Lna")]
    assert typo[0] == "KH-0042" and "KH-0045" not in typo  # closest first
    assert await cards.find("Hoàng Long") == []
    assert await cards.find("  ") == []


async def test_the_card_gathers_everything_staff_need(services: Services) -> None:
    lan = await make_customer(services, name="Nguyễn Thị Lan", region="Hà Nội")
    others = [await make_customer(services) for _ in range(4)]
    now = services.clock()
    for k in range(7):
        await make_order(
            services,
            lan,
            placed_at=now - timedelta(days=3 + 9 * k),
            amount=2_000_000,
            margin=500_000,
        )
    for c in others:
        await make_order(services, c, placed_at=now - timedelta(days=200), margin=10_000)
    await make_order(services, lan, kind="inquiry", status="open", placed_at=now)
    async with services.db.uow() as uow:
        uow.session.add_all(
            [
                Complaint(customer_id=lan.id, category="delivery", status="resolved"),
                Complaint(customer_id=lan.id, category="delivery", status="open"),
                Complaint(customer_id=lan.id, category="billing", status="claimed"),
                Survey(
                    customer_id=lan.id,
                    trigger="delivery",
                    status="answered",
                    csat=4,
                    nps=9,
                    reliability=5,
                    comment="Giao nhanh",
                    answered_at=now,
                ),
                Survey(
                    customer_id=lan.id,
                    trigger="complaint",
                    status="answered",
                    csat=2,
                    nps=5,
                    reliability=3,
                    answered_at=now,
                ),
                Survey(customer_id=lan.id, trigger="delivery", status="sent"),  # not answered
            ]
        )
        await uow.commit()
    await services.segmentation.recompute()
    await services.policies.grant(lan.id, "voucher_10", value=200_000, note="Tết")

    card = await services.customer_cards.card(lan.id)
    assert card is not None
    assert card.profile.name == "Nguyễn Thị Lan" and card.profile.region == "Hà Nội"
    assert card.metrics is not None
    assert (card.metrics.tier, card.metrics.segment) == ("diamond", "champions")
    assert card.metrics.frequency == 7 and card.metrics.historical_ltv > 0
    assert len(card.last_orders) == 5 and card.last_orders[0].kind == "inquiry"
    assert (card.complaints.total, card.complaints.open) == (3, 2)
    assert card.complaints.by_category == {"delivery": 2, "billing": 1}
    assert card.surveys.answered == 2 and card.surveys.csat == 3.0 and card.surveys.nps == 7.0
    assert card.surveys.servqual["reliability"] == 4.0
    assert card.surveys.last_comment == "Giao nhanh"
    assert [(g.policy, g.value, g.label) for g in card.granted] == [
        ("voucher_10", 200_000, "Voucher giảm 10%")
    ]
    assert [s.key for s in card.suggested] == [
        "dedicated_agent",
        "voucher_10",
        "early_access",
        "referral_bonus",
    ]
    english = await services.customer_cards.card(lan.id, language="en")
    assert english is not None and english.suggested[0].label == "Dedicated care agent"
    assert await services.customer_cards.card(999_999) is None


async def test_a_customer_is_a_customer_since_their_first_order(services: Services) -> None:
    """Imported or linked today, a buyer of two years has been a customer for two years."""
    now = services.clock()
    imported_today = await make_customer(services, created_at=now)
    first = now - timedelta(days=730)
    await make_order(
        services,
        imported_today,
        kind="inquiry",
        status="lost",
        placed_at=first - timedelta(days=30),
    )  # asking is not buying
    for placed in (now - timedelta(days=40), first, now - timedelta(days=400)):
        await make_order(services, imported_today, placed_at=placed)
    prospect = await make_customer(services, created_at=now - timedelta(days=3))

    card = await services.customer_cards.card(imported_today.id)
    no_orders = await services.customer_cards.card(prospect.id)

    assert card is not None and no_orders is not None
    assert card.profile.customer_since == first
    assert no_orders.profile.customer_since == now - timedelta(days=3)
    text = services.renderer.chat(
        "vi",
        "staff_customer",
        c=card,
        p=card.profile,
        m=None,
        kind="",
        tier="",
        segment="",
        csat="",
        nps="",
    )
    assert f"Khách từ {first.astimezone(ZoneInfo('Asia/Ho_Chi_Minh')):%d/%m/%Y}" in text


async def test_the_tier_history_is_on_the_card(services: Services) -> None:
    big = [await make_customer(services) for _ in range(2)]
    small = [await make_customer(services) for _ in range(8)]
    for c in big:
        await make_order(services, c, margin=400_000)
    for c in small:
        await make_order(services, c, margin=25_000)
    await services.segmentation.recompute()
    await make_order(services, small[-1], margin=5_000_000)
    await services.segmentation.recompute()
    card = await services.customer_cards.card(small[-1].id)
    assert card is not None
    assert [(c.old_value, c.new_value) for c in card.tier_history] == [("silver", "diamond")]


async def test_a_grant_needs_a_customer_and_a_policy(services: Services) -> None:
    lan = await make_customer(services)
    with pytest.raises(PolicyProblem):
        await services.policies.grant(lan.id, "  ")
    with pytest.raises(PolicyProblem):
        await services.policies.grant(999_999, "voucher_10")
    gift = await services.policies.grant(lan.id, "Tặng quà sinh nhật", value=150_000)
    [granted] = await services.policies.granted(lan.id)
    assert (granted.id, granted.label, granted.value) == (gift.id, "Tặng quà sinh nhật", 150_000)


@pytest.fixture
def cli_env(tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    return tmp_cwd


def test_the_cli_grants_and_lists_policies(cli_env: Path) -> None:
    async def seed() -> None:
        services = build_services(
            Settings(_env_file=None, database_url=f"sqlite:///{cli_env / 'cli.db'}")
        )
        await services.start()
        try:
            await make_customer(
                services, code="KH-LAN", name="Nguyễn Thị Lan", phone="+84912345678"
            )
            await make_customer(services, code="KH-LANH", name="Nguyễn Thị Lành")
        finally:
            await services.close()

    asyncio.run(seed())
    runner = CliRunner()
    granted = runner.invoke(
        cli,
        [
            "policy",
            "grant",
            "0912345678",
            "--policy",
            "voucher_10",
            "--value",
            "200.000",
            "--note",
            "Tết",
        ],
    )
    assert granted.exit_code == 0, granted.output
    assert "KH-LAN" in granted.output and "200.000 ₫" in granted.output
    listed = runner.invoke(cli, ["policy", "list", "KH-LAN"])
    assert listed.exit_code == 0 and "Voucher giảm 10%" in listed.output
    everyone = runner.invoke(cli, ["policy", "list"])
    row = next(line for line in everyone.output.splitlines() if "Voucher giảm 10%" in line)
    assert "KH-LAN" in row  # the code staff know, not the internal id
    ambiguous = runner.invoke(cli, ["policy", "grant", "Nguyễn Thị", "--policy", "x"])
    assert ambiguous.exit_code == 1 and "2 customers match" in ambiguous.output
    bad_value = runner.invoke(
        cli, ["policy", "grant", "KH-LAN", "--policy", "x", "--value", "nhiều"]
    )
    assert bad_value.exit_code == 1 and "not an amount" in bad_value.output
    suggested = runner.invoke(cli, ["policy", "suggest", "KH-LANH"])
    assert suggested.exit_code == 0 and "tier —" in suggested.output
