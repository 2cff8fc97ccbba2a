"""Vouchers: issued per campaign or per customer, checked, redeemed once by an order.

A voucher is worth an amount (VND) or a percentage off one order, between two days, for
one customer or anyone, and optionally only for some tiers. An order carrying its code
redeems it: from an import (the ``voucher`` column), from the API, or by staff. It is
refused, with the reason, when unknown, not yet valid, expired, used by another order, not
the customer's, or not for the customer's tier. What was issued, what was redeemed and the
revenue of the redeeming orders make the report that tells whether a promotion sold.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    Campaign,
    Customer,
    CustomerMetrics,
    Order,
    OrderKind,
    OrderStatus,
    Voucher,
    VoucherKind,
)
from care.core.settings import Settings
from care.core.text import to_local
from care.vouchers.codes import new_code, normalise_code

MAX_ISSUE = 100_000
NOT_COUNTED = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


class VoucherProblem(ValueError):
    """A voucher that cannot be issued as asked; the message is fit to show."""


class Refusal(StrEnum):
    """Why a code does not take off anything."""

    UNKNOWN = "unknown"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    USED = "used"
    NOT_YOURS = "not_yours"
    TIER = "tier"
    NOT_AN_ORDER = "not_an_order"


REFUSAL_TEXT = {
    Refusal.UNKNOWN: "no such voucher code",
    Refusal.NOT_YET_VALID: "the voucher is not valid yet",
    Refusal.EXPIRED: "the voucher has expired",
    Refusal.USED: "the voucher was used by another order",
    Refusal.NOT_YOURS: "the voucher belongs to another customer",
    Refusal.TIER: "the voucher is not for this customer's tier",
    Refusal.NOT_AN_ORDER: "only an order (not an inquiry) can redeem a voucher",
}


class VoucherRefused(ValueError):
    def __init__(self, reason: Refusal, code: str) -> None:
        super().__init__(f"{code}: {REFUSAL_TEXT[reason]}")
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class VoucherView:
    id: int
    code: str
    kind: str
    value: int
    customer_id: int | None
    customer_code: str | None
    campaign: str | None
    tiers: list[str]
    valid_from: date
    valid_until: date
    issued_for: str | None
    redeemed_at: datetime | None
    order_code: str | None

    def worth(self, amount: int) -> int:
        """What it takes off an order of ``amount`` VND."""
        if self.kind == VoucherKind.PERCENT:
            return amount * self.value // 100
        return min(self.value, amount)

    @property
    def label(self) -> str:
        """Its value as printed on a message (``100.000 ₫`` or ``10%``): see ``describe``."""
        return describe(self.kind, self.value)


def describe(kind: str, value: int) -> str:
    from care.core.text import format_vnd

    return f"{value}%" if kind == VoucherKind.PERCENT else format_vnd(value)


@dataclass(frozen=True)
class Check:
    voucher: VoucherView | None
    refusal: Refusal | None

    @property
    def ok(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class VoucherReport:
    """Issued and redeemed vouchers, and the orders that redeemed them."""

    issued: int
    redeemed: int
    expired_unused: int
    orders_revenue: int  # amount of the redeeming orders (cancelled or returned excluded)
    orders_margin: int
    discount: int  # what the vouchers took off those orders
    by_campaign: dict[str | None, tuple[int, int, int]]  # issued, redeemed, revenue

    @property
    def redemption_rate(self) -> float | None:
        return self.redeemed / self.issued if self.issued else None


class Vouchers:
    """Issues, checks and redeems voucher codes; reports what they brought."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    def today(self) -> date:
        return to_local(self.clock(), self.zone).date()

    # --- issuing -------------------------------------------------------------------------

    async def issue(
        self,
        *,
        kind: str,
        value: int,
        customer_ids: Sequence[int] | None = None,
        count: int = 1,
        campaign: str | None = None,
        tiers: Sequence[str] = (),
        valid_from: date | None = None,
        valid_until: date | None = None,
        issued_for: str | None = None,
    ) -> list[VoucherView]:
        """One code per customer named, or ``count`` codes for anyone (a campaign's flyer)."""
        async with self.db.uow() as uow:
            campaign_id = None
            if campaign is not None:
                campaign_id = await uow.session.scalar(
                    select(Campaign.id).where(Campaign.name == campaign)
                )
                if campaign_id is None:
                    raise VoucherProblem(f"no campaign named {campaign!r}")
            if customer_ids:
                alive = set(
                    await uow.session.scalars(
                        select(Customer.id).where(
                            Customer.id.in_(list(customer_ids)), Customer.erased_at.is_(None)
                        )
                    )
                )
                if missing := [c for c in customer_ids if c not in alive]:
                    raise VoucherProblem(f"no such customer (id {missing[0]})")
            rows = await self.issue_in(
                uow.session,
                kind=kind,
                value=value,
                customer_ids=list(customer_ids) if customer_ids else [None] * count,
                campaign_id=campaign_id,
                tiers=tiers,
                valid_from=valid_from,
                valid_until=valid_until,
                issued_for=issued_for,
            )
            views = await self._views(uow.session, rows)
            await uow.commit()
        return views

    async def issue_in(
        self,
        session: AsyncSession,
        *,
        kind: str,
        value: int,
        customer_ids: Sequence[int | None],
        campaign_id: int | None = None,
        tiers: Sequence[str] = (),
        valid_from: date | None = None,
        valid_until: date | None = None,
        issued_for: str | None = None,
    ) -> list[Voucher]:
        """Issue codes in the caller's transaction (a campaign's messages, a tier's gift)."""
        if kind not in {k.value for k in VoucherKind}:
            raise VoucherProblem(f"unknown voucher kind {kind!r}; use amount or percent")
        if kind == VoucherKind.PERCENT and not 0 < value <= 100:
            raise VoucherProblem("a percentage voucher is worth 1 to 100 %")
        if kind == VoucherKind.AMOUNT and value <= 0:
            raise VoucherProblem("a voucher is worth more than 0 ₫")
        if not 0 < len(customer_ids) <= MAX_ISSUE:
            raise VoucherProblem(f"issue 1 to {MAX_ISSUE} codes at a time")
        unknown = [t for t in tiers if t not in self.settings.tier_names]
        if unknown:
            raise VoucherProblem(
                f"unknown tier {unknown[0]!r}; use {', '.join(self.settings.tier_names)}"
            )
        start = valid_from or self.today()
        end = valid_until or start + timedelta(days=self.settings.voucher_valid_days)
        if end < start:
            raise VoucherProblem("the voucher would expire before it starts")
        now = self.clock()
        rows = []
        for customer_id in customer_ids:
            while True:  # a collision of 43 random bits is rare; try again if it happens
                code = new_code()
                exists = await session.scalar(select(Voucher.id).where(Voucher.code == code))
                if exists is None:
                    break
            voucher = Voucher(
                code=code,
                kind=kind,
                value=value,
                campaign_id=campaign_id,
                customer_id=customer_id,
                tiers=list(tiers),
                valid_from=start,
                valid_until=end,
                issued_for=issued_for,
                issued_at=now,
            )
            session.add(voucher)
            rows.append(voucher)
        await session.flush()
        return rows

    # --- checking and redeeming ----------------------------------------------------------

    async def check(self, code: str, customer_id: int | None = None) -> Check:
        """Would this code take something off an order of this customer today? Without a
        customer, only whether it is known, current and unused."""
        async with self.db.uow() as uow:
            voucher = await self._find(uow.session, code)
            if voucher is None:
                return Check(None, Refusal.UNKNOWN)
            refusal = await self._refusal(uow.session, voucher, customer_id, self.today(), None)
            [view] = await self._views(uow.session, [voucher])
        return Check(view, refusal)

    async def redeem(
        self, code: str, order_code: str, *, staff_id: int | None = None
    ) -> VoucherView:
        """Redeem a code by an order (staff in the chat or the console, the API)."""
        async with self.db.uow() as uow:
            order = await uow.session.scalar(select(Order).where(Order.code == order_code))
            if order is None:
                raise VoucherProblem(f"no order {order_code!r}")
            voucher = await self.redeem_in(uow.session, code, order, staff_id=staff_id)
            [view] = await self._views(uow.session, [voucher])
            try:
                await uow.commit()
            except IntegrityError:  # the same order redeemed another code meanwhile
                raise VoucherRefused(Refusal.USED, view.code) from None
        return view

    async def redeem_in(
        self, session: AsyncSession, code: str, order: Order, *, staff_id: int | None = None
    ) -> Voucher:
        """Redeem in the caller's transaction (an import); ``VoucherRefused`` says why not.

        The same order redeeming its own code again (a re-import) is no change.
        """
        voucher = await self._find(session, code, lock=True)
        if voucher is None:
            raise VoucherRefused(Refusal.UNKNOWN, code.strip().upper())
        if voucher.order_id == order.id:
            return voucher
        if order.kind != OrderKind.ORDER:
            raise VoucherRefused(Refusal.NOT_AN_ORDER, voucher.code)
        day = to_local(order.placed_at, self.zone).date()
        refusal = await self._refusal(session, voucher, order.customer_id, day, order.id)
        if refusal is not None:
            raise VoucherRefused(refusal, voucher.code)
        already = await session.scalar(select(Voucher.code).where(Voucher.order_id == order.id))
        if already is not None:
            raise VoucherProblem(f"order {order.code} already redeemed {already}")
        voucher.order_id = order.id
        voucher.redeemed_at = self.clock()
        voucher.redeemed_by_id = staff_id
        await session.flush()
        return voucher

    async def _refusal(
        self,
        s: AsyncSession,
        voucher: Voucher,
        customer_id: int | None,
        day: date,
        order_id: int | None,
    ) -> Refusal | None:
        if voucher.order_id is not None and voucher.order_id != order_id:
            return Refusal.USED
        known = customer_id is not None  # a check without a customer skips whose and tier
        if known and voucher.customer_id is not None and voucher.customer_id != customer_id:
            return Refusal.NOT_YOURS
        if day < voucher.valid_from:
            return Refusal.NOT_YET_VALID
        if day > voucher.valid_until:
            return Refusal.EXPIRED
        if known and voucher.tiers:
            tier = await s.scalar(
                select(CustomerMetrics.tier).where(CustomerMetrics.customer_id == customer_id)
            )
            if tier not in voucher.tiers:
                return Refusal.TIER
        return None

    async def _find(self, s: AsyncSession, code: str, *, lock: bool = False) -> Voucher | None:
        normal = normalise_code(code)
        if normal is None:
            return None
        query = select(Voucher).where(Voucher.code == normal)
        if lock:
            query = query.with_for_update()
        result: Voucher | None = await s.scalar(query)
        return result

    # --- reading -------------------------------------------------------------------------

    async def list(
        self,
        *,
        campaign: str | None = None,
        customer_id: int | None = None,
        redeemed: bool | None = None,
        limit: int = 200,
    ) -> list[VoucherView]:
        query = select(Voucher).order_by(Voucher.issued_at.desc(), Voucher.id.desc())
        if campaign is not None:
            query = query.join(Campaign, Campaign.id == Voucher.campaign_id).where(
                Campaign.name == campaign
            )
        if customer_id is not None:
            query = query.where(Voucher.customer_id == customer_id)
        if redeemed is not None:
            query = query.where(
                Voucher.order_id.is_not(None) if redeemed else Voucher.order_id.is_(None)
            )
        async with self.db.uow() as uow:
            rows = list(await uow.session.scalars(query.limit(limit)))
            return await self._views(uow.session, rows)

    async def report(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        campaign: str | None = None,
    ) -> VoucherReport:
        """Vouchers issued from ``since`` to ``until`` (all when not given), by campaign."""
        today = self.today()
        query = (
            select(
                Campaign.name,
                Voucher.kind,
                Voucher.value,
                Voucher.valid_until,
                Voucher.order_id,
                Order.amount,
                Order.margin,
                Order.status,
            )
            .outerjoin(Campaign, Campaign.id == Voucher.campaign_id)
            .outerjoin(Order, Order.id == Voucher.order_id)
        )
        if since is not None:
            query = query.where(Voucher.valid_until >= since)
        if until is not None:
            query = query.where(Voucher.valid_from <= until)
        if campaign is not None:
            query = query.where(Campaign.name == campaign)
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
        issued = redeemed = expired = revenue = margin = discount = 0
        by_campaign: dict[str | None, tuple[int, int, int]] = {}
        for name, kind, value, valid_until, order_id, amount, order_margin, status in rows:
            issued += 1
            n_issued, n_redeemed, n_revenue = by_campaign.get(name, (0, 0, 0))
            n_issued += 1
            if order_id is not None and status not in NOT_COUNTED:
                redeemed += 1
                n_redeemed += 1
                revenue += amount or 0
                n_revenue += amount or 0
                margin += order_margin or 0
                discount += (
                    (amount or 0) * value // 100
                    if kind == VoucherKind.PERCENT
                    else min(value, amount or 0)
                )
            elif order_id is None and valid_until < today:
                expired += 1
            by_campaign[name] = (n_issued, n_redeemed, n_revenue)
        return VoucherReport(
            issued=issued,
            redeemed=redeemed,
            expired_unused=expired,
            orders_revenue=revenue,
            orders_margin=margin,
            discount=discount,
            by_campaign=by_campaign,
        )

    async def _views(self, s: AsyncSession, rows: Sequence[Voucher]) -> builtins.list[VoucherView]:
        if not rows:
            return []
        customers = dict(
            (
                await s.execute(
                    select(Customer.id, Customer.code).where(
                        Customer.id.in_({r.customer_id for r in rows if r.customer_id})
                    )
                )
            ).all()
        )
        campaigns = dict(
            (
                await s.execute(
                    select(Campaign.id, Campaign.name).where(
                        Campaign.id.in_({r.campaign_id for r in rows if r.campaign_id})
                    )
                )
            ).all()
        )
        orders = dict(
            (
                await s.execute(
                    select(Order.id, Order.code).where(
                        Order.id.in_({r.order_id for r in rows if r.order_id})
                    )
                )
            ).all()
        )
        return [
            VoucherView(
                id=r.id,
                code=r.code,
                kind=r.kind,
                value=r.value,
                customer_id=r.customer_id,
                customer_code=customers.get(r.customer_id) if r.customer_id else None,
                campaign=campaigns.get(r.campaign_id) if r.campaign_id else None,
                tiers=list(r.tiers or []),
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                issued_for=r.issued_for,
                redeemed_at=r.redeemed_at,
                order_code=orders.get(r.order_id) if r.order_id else None,
            )
            for r in rows
        ]


async def count_redeemed(session: AsyncSession, order_ids: Sequence[int]) -> int:
    """How many of these orders redeemed a voucher (a campaign's effect report)."""
    if not order_ids:
        return 0
    return (
        await session.scalar(
            select(func.count()).select_from(Voucher).where(Voucher.order_id.in_(list(order_ids)))
        )
    ) or 0
