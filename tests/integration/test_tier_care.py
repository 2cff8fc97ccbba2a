"""Care per tier: a diamond customer's birthday gets the VIP greeting and a voucher, a
member's the usual greeting; every gift is recorded as granted, and only with a message
that goes out."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import PolicyGrant
from care.outreach import DEFAULT_TIER_CARE, TierCareProblem, load_tier_care, parse_tier_care
from tests.builders import add_metrics, database_env, make_customer, make_order, outbox_rows

BIRTHDAY = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City
TIERS = ["diamond", "gold", "silver", "member"]
VOUCHER = {"kind": "amount", "value": 1}


async def grants(services):
    async with services.db.uow() as uow:
        rows = list(await uow.session.scalars(select(PolicyGrant).order_by(PolicyGrant.id)))
        uow.session.expunge_all()
    return rows


async def birthday_customer(services, tier, **fields):
    fields.setdefault("consent_telegram", True)
    customer = await make_customer(services, birthday=date(1985, 12, 5), **fields)
    await add_metrics(services, customer, tier=tier)
    return customer


async def test_a_diamond_birthday_brings_the_vip_greeting_and_a_voucher(services, clock):
    vip = await birthday_customer(services, "diamond", telegram_user_id=9101, name="Kim")
    member = await birthday_customer(services, "member", telegram_user_id=9102, name="Lan")
    clock.now = BIRTHDAY
    assert (await services.care.greet_birthdays()).queued == 2
    rows = {r.customer_id: r for r in await outbox_rows(services, "birthday:")}
    [voucher] = await services.vouchers.list(customer_id=vip.id)
    assert voucher.label == "500.000 ₫" and voucher.valid_until == date(2027, 1, 4)
    assert voucher.issued_for == f"birthday:{vip.id}:2026"
    assert rows[vip.id].template == "care_birthday_vip" and voucher.code in rows[vip.id].body
    assert rows[member.id].template == "care_birthday" and "mã ưu đãi" not in rows[member.id].body
    [grant] = await grants(services)
    assert (grant.customer_id, grant.policy, grant.value) == (vip.id, "voucher", 500_000)
    assert voucher.code in grant.note
    clock.advance(hours=3)
    assert (await services.care.greet_birthdays()).queued == 0
    assert len(await services.vouchers.list()) == 1  # no second gift
    card = await services.customer_cards.card(vip.id)
    assert [g.policy for g in card.granted] == ["voucher"]


async def test_no_gift_goes_with_a_message_that_is_not_sent(services, clock):
    await birthday_customer(services, "gold", telegram_user_id=9103, consent_telegram=False)
    clock.now = BIRTHDAY
    report = await services.care.greet_birthdays()
    assert report.queued == 0 and report.skipped["no_consent"] == 1
    assert await services.vouchers.list() == [] and await grants(services) == []


async def test_a_diamond_thank_you_records_the_policy_gift(services, clock):
    vip = await make_customer(services, telegram_user_id=9104)
    await add_metrics(services, vip, tier="diamond")
    await make_order(services, vip, delivered_at=clock() - timedelta(hours=3))
    assert (await services.care.thank_deliveries()).queued == 1
    [grant] = await grants(services)
    assert (grant.policy, grant.value) == ("thank_you_gift", 100_000)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"birthday": {"platinum": {}}}, "birthday.platinum: unknown tier"),
        ({"birthday": {"gold": {"template": "nope"}}}, "no template vi/nope.html"),
        (
            {"win_back": {"gold": {"gift": {"policy": "x", "voucher": VOUCHER}}}},
            "a voucher or a policy",
        ),
        (
            {"thanks": {"gold": {"gift": {"voucher": {"kind": "percent", "value": 150}}}}},
            "at most 100",
        ),
        ({"newsletter": {}}, "newsletter"),
    ],
)
def test_a_bad_table_is_refused_naming_the_place(table, problem):
    with pytest.raises(TierCareProblem, match=problem):
        parse_tier_care(table, TIERS)


def test_the_shipped_table_is_valid_and_a_file_can_replace_it(tmp_path):
    shipped = load_tier_care(None, TIERS)
    assert shipped.rule("birthday", "diamond").gift.voucher.value == 500_000
    assert shipped.rule("birthday", "member") is None
    mine = tmp_path / "tiers.yaml"
    mine.write_text(yaml.safe_dump({"win_back": {"silver": {"template": "care_winback_vip"}}}))
    loaded = load_tier_care(mine, TIERS)
    assert loaded.rule("win_back", "silver").template == "care_winback_vip"
    assert loaded.rule("birthday", "diamond") is None
    with pytest.raises(TierCareProblem, match="cannot read"):
        load_tier_care(tmp_path / "missing.yaml", TIERS)
    assert DEFAULT_TIER_CARE.is_file()


def test_the_policy_tiers_command_shows_the_table(settings, monkeypatch, tmp_path: Path):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")
    shown = CliRunner().invoke(cli, ["policy", "tiers"])
    assert shown.exit_code == 0, shown.output
    assert "birthday" in shown.output and "care_birthday_vip" in shown.output
    assert "500.000 ₫" in shown.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("birthday: {platinum: {}}\n")
    refused = CliRunner().invoke(cli, ["policy", "tiers", "--file", str(bad)])
    assert refused.exit_code == 1 and "unknown tier" in refused.output
