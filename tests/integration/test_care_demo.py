"""The demo shows the care features: a campaign measured against its holdout with
vouchers redeemed, contacts logged and a week of them planned, a diamond customer slipping."""

from sqlalchemy import func, select

from care.analytics import DEMO_CAMPAIGN
from care.core.models import Campaign, Contact
from care.services import Services
from tests.builders import outbox_rows


async def test_the_demo_has_a_measured_campaign_vouchers_contacts_and_a_slipping_customer(
    services: Services,
) -> None:
    report = await services.seed_demo()
    care = report.care
    assert care.campaign == DEMO_CAMPAIGN and care.held_out > 0 and care.redeemed > 0

    effect = await services.effects.campaign(DEMO_CAMPAIGN)
    assert effect.complete
    assert (effect.contacted.customers, effect.held_out.customers) == (
        care.contacted,
        care.held_out,
    )
    assert effect.vouchers_redeemed == care.redeemed and effect.voucher_revenue > 0
    assert effect.revenue is not None and effect.revenue.difference > 0

    vouchers = await services.vouchers.report(campaign=DEMO_CAMPAIGN)
    assert vouchers.issued == care.contacted and vouchers.redeemed == care.redeemed

    [alert] = await outbox_rows(services, "slipping:")
    assert care.slipping in alert.body
    planned = await services.contacts.list(status="planned", limit=1000)
    assert len(planned) == care.contacts_planned > 0
    assert any(c.reason == "slipping" for c in planned)
    assert any(c.reason == "schedule" for c in planned)
    assert care.contacts_logged > 0

    again = await services.seed_demo()
    assert again.care.campaign is None  # written once
    async with services.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Campaign)) == 1
        contacts = await uow.session.scalar(select(func.count()).select_from(Contact))
    assert contacts == care.contacts_logged + care.contacts_planned
