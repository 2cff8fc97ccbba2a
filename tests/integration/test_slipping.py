"""Top customers slipping: a gold or diamond customer who becomes at-risk, or whose
predicted CLV falls, raises one alert in the staff chat and a call for their manager."""

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from bot.cli import app as cli
from care.core.models import ClassificationChange, CustomerMetrics
from tests.builders import database_env, make_customer, make_order, outbox_rows, with_services


async def top_customer(services, tier, segment="at_risk", clv=None, **fields):
    customer = await make_customer(services, **fields)
    now = services.clock()
    async with services.db.uow() as uow:
        uow.session.add(
            CustomerMetrics(
                customer_id=customer.id,
                as_of=now.date(),
                tier=tier,
                segment=segment,
                historical_ltv=42_000_000,
                frequency=12,
                clv_12m=clv,
            )
        )
        uow.session.add(
            ClassificationChange(
                customer_id=customer.id,
                field="segment",
                old_value="champions",
                new_value=segment,
                changed_at=now - timedelta(hours=2),
                as_of=now.date(),
            )
        )
        await uow.commit()
    return customer


async def test_a_diamond_customer_at_risk_alerts_the_staff_chat_and_plans_a_call(services):
    minh = await services.staff.add(5001, "Minh")
    kim = await top_customer(services, "diamond", name="Trần Kim Cương", code="KH-D1")
    await make_order(services, kim)
    await services.contacts.assign(kim.id, minh.id)
    await top_customer(services, "member", name="Thành Viên")

    [alert] = await services.slipping.scan()
    assert (alert.customer_code, alert.reason) == ("KH-D1", "segment")
    [row] = await outbox_rows(services, "slipping:")
    assert row.recipient == str(services.settings.staff_chat_id)
    assert "Trần Kim Cương" in row.body and "Kim cương" in row.body
    assert "Khách hàng xuất sắc → " in row.body  # the old segment
    assert "Có nguy cơ rời bỏ" in row.body and "42.000.000 ₫" in row.body
    assert "Voucher mời quay lại" in row.body  # a suggested policy
    assert "Minh" in row.body
    [call] = await services.contacts.list(status="planned")
    assert (call.customer_code, call.staff_name, call.reason) == ("KH-D1", "Minh", "slipping")
    assert call.due_at == services.clock().replace(hour=2) + timedelta(days=1)  # 09:00 local
    assert len(await outbox_rows(services, "contact:")) == 1  # Minh is reminded
    assert await services.slipping.scan() == []  # raised once


async def test_a_falling_clv_alerts_once(services):
    vang = await top_customer(services, "gold", segment="loyal", clv=10_000_000, code="KH-G1")
    assert await services.slipping.scan() == []  # first look: remembered
    async with services.db.uow() as uow:
        metrics = await uow.session.get(CustomerMetrics, vang.id)
        metrics.clv_12m = 8_000_000  # -20 %: not yet
        await uow.commit()
    assert await services.slipping.scan() == []
    async with services.db.uow() as uow:
        metrics = await uow.session.get(CustomerMetrics, vang.id)
        metrics.clv_12m = 5_000_000  # -37.5 % since last seen
        await uow.commit()
    [alert] = await services.slipping.scan()
    assert alert.reason == "clv"
    [row] = await outbox_rows(services, "slipping-clv:")
    assert "8.000.000 ₫" in row.body and "5.000.000 ₫" in row.body
    assert "chưa có người phụ trách" in row.body
    assert await services.slipping.scan() == []


def test_the_slipping_command_runs_the_scan(settings, monkeypatch):
    for name, value in database_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CAREBOT_STAFF_CHAT_ID", "-100123")
    # The command runs on the real clock: the change happened just now.
    with_services(
        settings,
        lambda services: top_customer(services, "diamond", code="KH-D9"),
        clock=lambda: datetime.now(UTC),
    )
    result = CliRunner().invoke(cli, ["contact", "slipping"])
    assert result.exit_code == 0, result.output
    assert "1 top-tier customers slipping" in result.output and "KH-D9" in result.output
