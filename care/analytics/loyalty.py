"""Loyalty under attack: the Vulnerability Index of a competitor's campaign.

When a competitor runs a campaign in a region, staff record it (competitor, region, first
and last day). Then:

- the window: from the first day of the campaign to ``settings.vi_after_window_days``
  after its last day (customers react late), or up to today while it is still running;
  the baseline: the ``settings.vi_baseline_days`` days before the campaign;
- OS, the observation set: the region's customers (compared folded, so "Ha Noi" is
  "Hà Nội") active before the campaign with enough history to measure a decline: at least
  ``settings.vi_min_orders`` counted orders in the baseline. A one-off buyer has no rate
  to decline from and is not observed;
- VS, the vulnerable set: customers of OS whose purchasing during the window fell against
  their own earlier rate: their orders per day (or spend per day) fell by more than
  ``settings.vi_decline_threshold`` (0.5 = by more than half), and so few orders in the
  window would be unlikely (below ``settings.vi_significance``, Poisson with the
  customer's baseline rate) had their rate not changed; or their spend per day fell by
  more than the threshold while they kept ordering, from a rate that expected at least
  ``vi_min_orders`` orders in the window. A monthly buyer with no order in a 30-day
  window is not a loss; a weekly buyer with none is;
- VI = |VS| / |OS| x 100;
- a comparison separates the competitor's effect from the season: the same measurement in
  another region the campaign did not reach (``compare_region``) or, by default, in the
  same region a year (52 weeks) earlier. The effect is VI minus the comparison's VI, in
  points, and its reading is low, medium or high by ``settings.vi_reading_thresholds``
  (the VI itself is read when there is nothing to compare with);
- the vulnerable set is a campaign audience (``campaign create --vulnerable-of ID``).

Counted orders are the same as everywhere (``kind = 'order'``, not cancelled or
returned); days are calendar days of the shop's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text

from care.core.db import Database
from care.core.models import COUNTED_ORDERS, CompetitorCampaign, UTCDateTime
from care.core.settings import Settings
from care.core.text import clean, fold, utcnow


class LoyaltyProblem(ValueError):
    """Input that cannot describe a competitor campaign; the message can be shown."""


@dataclass(frozen=True)
class WatchedCustomer:
    """One customer of the observation set, with the figures staff act on."""

    customer_id: int
    code: str
    name: str
    phone: str | None
    baseline_orders: int
    baseline_amount: int
    window_orders: int
    window_amount: int
    order_decline: float  # 1 - window rate / baseline rate (negative = grew)
    amount_decline: float | None  # None when the baseline spend was zero


# A row of the observation query: id, code, name, phone, then the order counts and sums of
# the baseline and of the window (SUM gives Decimal on PostgreSQL, int on SQLite).
_ActiveRow = tuple[
    int, str, str, str | None, int | Decimal, int | Decimal, int | Decimal, int | Decimal
]


@dataclass(frozen=True)
class Comparison:
    """The same measurement where (or when) the competitor was not: the season's share."""

    kind: str  # "region" or "year_before"
    label: str  # the region, or the window a year before
    observed: int
    vulnerable: int

    @property
    def index(self) -> float | None:
        return 100.0 * self.vulnerable / self.observed if self.observed else None


@dataclass(frozen=True)
class Vulnerability:
    """The Vulnerability Index of one campaign, as of a day."""

    campaign: CompetitorCampaign
    as_of: date
    baseline_days: int
    window_start: date
    window_end: date  # last day counted so far
    window_days: int  # days counted so far (0 before the campaign starts)
    window_complete: bool
    observed: int  # |OS|
    vulnerable: list[WatchedCustomer]  # VS, steepest decline first
    comparison: Comparison | None = None
    thresholds: tuple[float, float] = (10.0, 25.0)

    @property
    def index(self) -> float | None:
        """VI = VS / OS x 100; None when nothing can be said yet (no OS or no window)."""
        if self.observed == 0 or self.window_days == 0:
            return None
        return 100.0 * len(self.vulnerable) / self.observed

    @property
    def effect(self) -> float | None:
        """The competitor's effect: VI minus the comparison's VI, in points."""
        if self.index is None or self.comparison is None or self.comparison.index is None:
            return None
        return self.index - self.comparison.index

    @property
    def reading(self) -> str | None:
        """low, medium or high: of the effect when there is a comparison, else of VI."""
        value = self.effect if self.effect is not None else self.index
        if value is None:
            return None
        low, high = self.thresholds
        return "low" if value < low else "medium" if value < high else "high"


class Loyalty:
    """Records competitor campaigns and measures how many customers they pull away."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def watch(
        self,
        competitor: str,
        region: str,
        starts_on: date,
        ends_on: date,
        notes: str | None = None,
    ) -> CompetitorCampaign:
        """Record a competitor's campaign so its Vulnerability Index can be followed."""
        competitor, region = clean(competitor), clean(region)
        if not competitor:
            raise LoyaltyProblem("the competitor's name is empty")
        if not region:
            raise LoyaltyProblem("the region is empty")
        if ends_on < starts_on:
            raise LoyaltyProblem("the campaign ends before it starts")
        campaign = CompetitorCampaign(
            competitor=competitor,
            region=region,
            starts_on=starts_on,
            ends_on=ends_on,
            notes=clean(notes) if notes else None,
            created_at=self.clock(),
        )
        async with self.db.uow() as uow:
            uow.session.add(campaign)
            await uow.commit()
        return campaign

    async def campaigns(self) -> list[CompetitorCampaign]:
        """Every recorded campaign, latest start first."""
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(CompetitorCampaign).order_by(
                    CompetitorCampaign.starts_on.desc(), CompetitorCampaign.id.desc()
                )
            )
            found = list(rows.all())
            uow.session.expunge_all()  # plain values once the session closes
            return found

    async def vulnerability(
        self,
        campaign_id: int | None = None,
        *,
        today: date | None = None,
        compare_region: str | None = None,
    ) -> Vulnerability | None:
        """VI and the vulnerable customers of a campaign (the latest one without an id).

        ``today`` measures as if it were that day (later orders do not count).
        """
        async with self.db.uow() as uow:
            if campaign_id is None:
                campaign = await uow.session.scalar(
                    select(CompetitorCampaign)
                    .order_by(CompetitorCampaign.starts_on.desc(), CompetitorCampaign.id.desc())
                    .limit(1)
                )
            else:
                campaign = await uow.session.get(CompetitorCampaign, campaign_id)
            uow.session.expunge_all()  # plain values once the session closes
        if campaign is None:
            return None
        return await self._measure(campaign, today, compare_region)

    async def vulnerabilities(self, *, today: date | None = None) -> list[Vulnerability]:
        """VI of every recorded campaign, for the report."""
        return [await self._measure(c, today) for c in await self.campaigns()]

    async def _measure(
        self,
        campaign: CompetitorCampaign,
        today: date | None,
        compare_region: str | None = None,
    ) -> Vulnerability:
        zone = ZoneInfo(self.settings.timezone)
        today = today or self.clock().astimezone(zone).date()
        baseline_days = self.settings.vi_baseline_days
        last_day = campaign.ends_on + timedelta(days=self.settings.vi_after_window_days)
        window_end = min(last_day, today)
        window_days = max((window_end - campaign.starts_on).days + 1, 0)
        regions = await self._regions_like(campaign.region)
        observed, vulnerable = await self._observe(
            regions, campaign.starts_on, baseline_days, window_days
        )
        comparison = None
        if window_days > 0:
            if compare_region:
                others = await self._regions_like(compare_region)
                n, found = await self._observe(
                    others, campaign.starts_on, baseline_days, window_days
                )
                comparison = Comparison("region", clean(compare_region), n, len(found))
            else:
                before = campaign.starts_on - timedelta(weeks=52)
                n, found = await self._observe(regions, before, baseline_days, window_days)
                label = f"{before:%d/%m/%Y}–{before + timedelta(days=window_days - 1):%d/%m/%Y}"
                comparison = Comparison("year_before", label, n, len(found))
        low, high = (*self.settings.vi_reading_thresholds, 10.0, 25.0)[:2]
        return Vulnerability(
            campaign=campaign,
            as_of=today,
            baseline_days=baseline_days,
            window_start=campaign.starts_on,
            window_end=window_end,
            window_days=window_days,
            window_complete=today >= last_day,
            observed=observed,
            vulnerable=vulnerable,
            comparison=comparison,
            thresholds=(low, high),
        )

    async def _regions_like(self, region: str) -> list[str]:
        """The spellings of a region in the customer base ("Hà Nội", "Ha Noi", "HÀ NỘI")."""
        wanted = fold(region)
        async with self.db.uow() as uow:
            rows = await uow.session.execute(
                text("SELECT DISTINCT region FROM customers WHERE region IS NOT NULL")
            )
            return [r for (r,) in rows.all() if fold(r) == wanted]

    async def _observe(
        self, regions: list[str], starts_on: date, baseline_days: int, window_days: int
    ) -> tuple[int, list[WatchedCustomer]]:
        """|OS| and VS of a region's customers for a window starting on ``starts_on``:
        per-customer sums of the two periods in SQL, the decline tested in Python."""
        if not regions:
            return 0, []
        zone = ZoneInfo(self.settings.timezone)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

        params = {
            "baseline_start": midnight(starts_on - timedelta(days=baseline_days)),
            "start": midnight(starts_on),
            "window_end": midnight(starts_on + timedelta(days=window_days)),
        }
        in_base = "o.placed_at >= :baseline_start AND o.placed_at < :start"
        in_window = "o.placed_at >= :start AND o.placed_at < :window_end"
        counted = COUNTED_ORDERS.replace("kind", "o.kind").replace("status", "o.status")
        query = f"""
            SELECT c.id, c.code, c.name, c.phone,
                SUM(CASE WHEN {in_base} THEN 1 ELSE 0 END) AS b_n,
                SUM(CASE WHEN {in_base} THEN o.amount ELSE 0 END) AS b_amount,
                SUM(CASE WHEN {in_window} THEN 1 ELSE 0 END) AS w_n,
                SUM(CASE WHEN {in_window} THEN o.amount ELSE 0 END) AS w_amount
            FROM customers c JOIN orders o ON o.customer_id = c.id
            WHERE c.region IN :regions AND c.erased_at IS NULL AND {counted}
              AND o.placed_at >= :baseline_start AND o.placed_at < :window_end
            GROUP BY c.id, c.code, c.name, c.phone
            HAVING SUM(CASE WHEN {in_base} THEN 1 ELSE 0 END) >= :min_orders
        """  # noqa: S608 - names from code, values bound
        binds = [
            bindparam("regions", expanding=True),
            *(bindparam(name, type_=UTCDateTime()) for name in params),
        ]
        values = {**params, "regions": regions, "min_orders": max(self.settings.vi_min_orders, 1)}
        async with self.db.uow() as uow:
            rows: Sequence[_ActiveRow] = (
                await uow.session.execute(text(query).bindparams(*binds), values)
            ).all()
        if window_days <= 0:
            return len(rows), []
        watched = [_watched(row, baseline_days, window_days) for row in rows]
        vulnerable = [w for w in watched if self._declined(w, baseline_days, window_days)]
        vulnerable.sort(key=lambda w: (-max(w.order_decline, w.amount_decline or 0), w.code))
        return len(rows), vulnerable

    def _declined(self, w: WatchedCustomer, baseline_days: int, window_days: int) -> bool:
        """Their purchasing fell against their own rate, beyond what chance explains.

        Fewer orders: by more than the threshold, and a count that unlikely (Poisson with
        the baseline rate) had the rate not changed. Less spent: by more than the threshold
        per day, while still ordering, from a rate that expected at least the minimum of
        orders in the window (enough purchases to measure a spend by).
        """
        from scipy.stats import poisson  # only when measuring: `loyalty --help` stays light

        threshold = self.settings.vi_decline_threshold
        expected = w.baseline_orders * window_days / baseline_days
        if w.order_decline > threshold:
            unlikely = float(poisson.cdf(w.window_orders, expected))
            if unlikely < self.settings.vi_significance:
                return True
        return (
            w.amount_decline is not None
            and w.amount_decline > threshold
            and w.window_orders > 0
            and expected >= self.settings.vi_min_orders
        )


def _watched(row: _ActiveRow, baseline_days: int, window_days: int) -> WatchedCustomer:
    cid, code, name, phone, b_n, b_amount, w_n, w_amount = row
    b_n, b_amount, w_n, w_amount = int(b_n), int(b_amount), int(w_n), int(w_amount)
    order_decline = 1.0 - (w_n / window_days) / (b_n / baseline_days)
    amount_decline = None
    if b_amount > 0:
        amount_decline = 1.0 - (w_amount / window_days) / (b_amount / baseline_days)
    return WatchedCustomer(
        customer_id=int(cid),
        code=code,
        name=name,
        phone=phone,
        baseline_orders=b_n,
        baseline_amount=b_amount,
        window_orders=w_n,
        window_amount=w_amount,
        order_decline=order_decline,
        amount_decline=amount_decline,
    )
