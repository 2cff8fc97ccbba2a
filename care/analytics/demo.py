"""The demo's care figures on top of the demo shop: a measured campaign with its holdout
and vouchers redeemed, contacts logged and a week of them planned, and a diamond customer
who slips.

Written once, after the demo shop and its segmentation (``Services.seed_demo``), from
``random.Random(seed)`` and the services' clock. The campaign's extra orders (codes
``KM-…``) are what its offer brought: the contacted customers buy more than the held-out
ones, so ``carebot campaign report`` has an effect to show.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from care.core.db import Database
from care.core.models import (
    AccountManager,
    Campaign,
    CampaignStatus,
    CareAssignment,
    ClassificationChange,
    Contact,
    ContactStatus,
    Customer,
    CustomerMetrics,
    MessageCategory,
    Order,
    Staff,
)
from care.core.settings import Settings
from care.customers import Contacts, SlippingWatch
from care.vouchers import Vouchers

DEMO_CAMPAIGN = "Ưu đãi cuối thu"
STARTED_DAYS_AGO = 40
MEASURE_DAYS = 30
HOLDOUT = 0.10
BUY_SHARE = 0.35  # of the contacted customers, who took up the offer
NOTES = (
    ("call", "Hỏi thăm sau đơn hàng lớn", "Khách hài lòng, hẹn đặt thêm quý sau"),
    ("visit", "Ghé văn phòng giới thiệu mẫu mới", "Khách xin báo giá 20 bộ"),
    ("meeting", "Cà phê với chủ doanh nghiệp", "Muốn có nhân viên chăm sóc riêng"),
    ("message", "Nhắn Zalo chúc mừng khai trương", "Khách cảm ơn"),
)


@dataclass
class CareDemo:
    campaign: str | None = None
    contacted: int = 0
    held_out: int = 0
    redeemed: int = 0
    contacts_logged: int = 0
    contacts_planned: int = 0
    slipping: str | None = None  # the diamond customer's code


async def write_care_demo(
    db: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    vouchers: Vouchers,
    contacts: Contacts,
    slipping: SlippingWatch,
    *,
    seed: int = 7,
) -> CareDemo:
    """Add the care demo unless its campaign exists already (a second run adds nothing)."""
    report = CareDemo()
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by design
    now = clock()
    started = now - timedelta(days=STARTED_DAYS_AGO)
    async with db.uow() as uow:
        s = uow.session
        if await s.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN)):
            return report
        staff = list(await s.scalars(select(Staff.id).where(Staff.active.is_(True))))
        rows = (
            await s.execute(
                select(Customer.id, CustomerMetrics.tier)
                .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                .where(Customer.erased_at.is_(None), CustomerMetrics.tier.is_not(None))
                .order_by(Customer.id)
            )
        ).all()
        if not rows or not staff:
            return report
        audience = [cid for cid, tier in rows if tier in ("gold", "silver", "diamond")]
        campaign = Campaign(
            name=DEMO_CAMPAIGN,
            kind="promotion",
            category=MessageCategory.MARKETING,
            audience={
                "tiers": ["diamond", "gold", "silver"],
                "holdout": HOLDOUT,
                "measure_days": MEASURE_DAYS,
                "voucher": {"kind": "amount", "value": 200_000, "valid_days": 30},
            },
            channel_preference="telegram",
            subject={"vi": "Ưu đãi cuối thu cho {{ name }}"},
            template={
                "vi": "Chào {{ name }}, tặng bạn mã <b>{{ voucher }}</b> giảm {{ voucher_value }}"
                " cho đơn hàng tiếp theo!",
                "en": "Hello {{ name }}, here is <b>{{ voucher }}</b>: {{ voucher_value }} off"
                " your next order!",
            },
            status=CampaignStatus.DONE,
            started_at=started,
            finished_at=started + timedelta(hours=2),
            created_at=started - timedelta(days=2),
            updated_at=started + timedelta(hours=2),
        )
        s.add(campaign)
        await s.flush()
        held = set(rng.sample(audience, int(len(audience) * HOLDOUT)))
        for cid in audience:
            s.add(
                CareAssignment(
                    key=f"campaign:{campaign.id}:{cid}",
                    programme="campaign",
                    campaign_id=campaign.id,
                    customer_id=cid,
                    held_out=cid in held,
                    assigned_at=started,
                )
            )
        contacted = [cid for cid in audience if cid not in held]
        report.campaign, report.contacted, report.held_out = (
            DEMO_CAMPAIGN,
            len(contacted),
            len(held),
        )
        issued = await vouchers.issue_in(
            s,
            kind="amount",
            value=200_000,
            customer_ids=contacted,
            campaign_id=campaign.id,
            valid_from=started.date(),
            valid_until=(started + timedelta(days=30)).date(),
            issued_for=f"campaign:{campaign.id}",
        )
        for number, voucher in enumerate(issued, start=1):
            if rng.random() >= BUY_SHARE:
                continue
            placed = started + timedelta(days=rng.randint(1, 25), hours=rng.randint(1, 10))
            amount = rng.choice((900_000, 1_500_000, 2_400_000, 4_800_000))
            order = Order(
                code=f"KM-{number:05d}",
                customer_id=voucher.customer_id,
                kind="order",
                status="delivered",
                placed_at=placed,
                delivered_at=placed + timedelta(days=2),
                amount=amount,
                margin=amount // 4,
                discount=200_000,
                notes=f"{DEMO_CAMPAIGN}: {voucher.code}",
                created_at=placed,
                updated_at=placed,
            )
            s.add(order)
            await s.flush()
            await vouchers.redeem_in(s, voucher.code, order)
            report.redeemed += 1

        # Account managers for the top tiers, a few contacts logged in the last weeks.
        top = [cid for cid, tier in rows if tier in ("diamond", "gold")]
        for index, cid in enumerate(top):
            s.add(AccountManager(customer_id=cid, staff_id=staff[index % len(staff)]))
        for index, cid in enumerate(top[: len(top) // 2]):
            kind, note, outcome = NOTES[index % len(NOTES)]
            s.add(
                Contact(
                    customer_id=cid,
                    staff_id=staff[index % len(staff)],
                    kind=kind,
                    status=ContactStatus.DONE,
                    done_at=now - timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 8)),
                    note=note,
                    outcome=outcome,
                    source="console",
                    created_at=now - timedelta(days=1),
                )
            )
            report.contacts_logged += 1

        # A diamond customer who just slipped into the at-risk segment.
        diamond = next((cid for cid, tier in rows if tier == "diamond"), None)
        if diamond is not None:
            metrics = await s.get(CustomerMetrics, diamond)
            assert metrics is not None
            s.add(
                ClassificationChange(
                    customer_id=diamond,
                    field="segment",
                    old_value=metrics.segment,
                    new_value="at_risk",
                    changed_at=now - timedelta(hours=6),
                    as_of=now.date(),
                )
            )
            metrics.segment = "at_risk"
            report.slipping = await s.scalar(select(Customer.code).where(Customer.id == diamond))
        await uow.commit()
    await slipping.scan()
    plan = await contacts.plan_week()
    report.contacts_planned = plan.total
    return report
