"""The console's dashboard: what needs attention now, in a handful of cheap queries.

Open tickets by deadline state, customers by tier, the monthly CSAT and NPS trend, the
campaigns running or scheduled, the unanswered FAQ questions, and the outbox's health
(messages waiting, failed, uncertain). Each figure is one aggregate over an indexed
column, so the page stays fast on a shop with a hundred thousand customers.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from care.core.db import Database
from care.core.models import (
    Campaign,
    CampaignStatus,
    Complaint,
    ComplaintStatus,
    CustomerMetrics,
    OutboxMessage,
    OutboxStatus,
    SegmentationRun,
    Survey,
    UnansweredQuestion,
)
from care.core.settings import Settings
from care.core.text import utcnow

SOON = timedelta(hours=1)
TIERS_FOR_SECONDS = 60.0
TREND_MONTHS = 6


@dataclass(frozen=True)
class MonthScore:
    month: date
    answered: int
    csat: float | None  # mean of 1-5
    nps: float | None  # promoters minus detractors, in points


@dataclass(frozen=True)
class RunningCampaign:
    id: int
    name: str
    status: str
    scheduled_at: datetime | None


@dataclass
class DashboardFigures:
    tickets: dict[str, int] = field(default_factory=dict)  # late, soon, ok
    tiers: dict[str, int] = field(default_factory=dict)  # tier → customers (None: unranked)
    trend: list[MonthScore] = field(default_factory=list)
    campaigns: list[RunningCampaign] = field(default_factory=list)
    unanswered: int = 0
    outbox: dict[str, int] = field(default_factory=dict)  # pending, failed, uncertain


class Dashboard:
    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._charts: dict[tuple[object, ...], str] = {}
        self._tiers: tuple[float, int | None, dict[str, int]] | None = None

    async def figures(self) -> DashboardFigures:
        now = self.clock()
        zone = ZoneInfo(self.settings.timezone)
        local = now.astimezone(zone).date().replace(day=1)
        first = local
        for _ in range(TREND_MONTHS - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        out = DashboardFigures()
        async with self.db.uow() as uow:
            s = uow.session
            open_rows = (
                await s.execute(
                    select(
                        Complaint.first_response_at,
                        Complaint.first_response_due,
                        Complaint.resolution_due,
                    ).where(Complaint.status != ComplaintStatus.RESOLVED)
                )
            ).all()
            states = {"late": 0, "soon": 0, "ok": 0}
            for answered, first_due, resolution_due in open_rows:
                due = first_due if answered is None else resolution_due
                if due is None:
                    states["ok"] += 1
                elif due <= now or (resolution_due is not None and resolution_due <= now):
                    states["late"] += 1
                elif due - now <= SOON:
                    states["soon"] += 1
                else:
                    states["ok"] += 1
            out.tickets = states
            out.tiers = await self._tier_counts(s)
            out.trend = await _trend(s, first, TREND_MONTHS, zone)
            out.campaigns = [
                RunningCampaign(c.id, c.name, c.status, c.scheduled_at)
                for c in await s.scalars(
                    select(Campaign)
                    .where(Campaign.status.in_((CampaignStatus.RUNNING, CampaignStatus.SCHEDULED)))
                    .order_by(Campaign.scheduled_at, Campaign.id)
                    .limit(20)
                )
            ]
            out.unanswered = int(
                await s.scalar(
                    select(func.count())
                    .select_from(UnansweredQuestion)
                    .where(UnansweredQuestion.answered_by_entry_id.is_(None))
                )
                or 0
            )
            outbox = dict(
                (
                    await s.execute(
                        select(OutboxMessage.status, func.count())
                        .where(
                            OutboxMessage.status.in_(
                                (
                                    OutboxStatus.PENDING,
                                    OutboxStatus.SENDING,
                                    OutboxStatus.FAILED,
                                    OutboxStatus.UNCERTAIN,
                                )
                            )
                        )
                        .group_by(OutboxMessage.status)
                    )
                ).all()
            )
        out.outbox = {
            "waiting": int(outbox.get(OutboxStatus.PENDING, 0))
            + int(outbox.get(OutboxStatus.SENDING, 0)),
            "failed": int(outbox.get(OutboxStatus.FAILED, 0)),
            "uncertain": int(outbox.get(OutboxStatus.UNCERTAIN, 0)),
        }
        return out

    async def _tier_counts(self, session: Any) -> dict[str, int]:
        """Customers by tier, counted again after a segmentation run and otherwise at most
        once a minute (between runs only an order re-classifies a customer or two)."""
        run = await session.scalar(select(func.max(SegmentationRun.id)))
        cached = self._tiers
        fresh = cached is not None and time.monotonic() - cached[0] < TIERS_FOR_SECONDS
        if cached is not None and fresh and cached[1] == run:
            return cached[2]
        counted = dict(
            (
                await session.execute(
                    select(CustomerMetrics.tier, func.count()).group_by(CustomerMetrics.tier)
                )
            ).all()
        )
        tiers = {t: int(counted.get(t, 0)) for t in self.settings.tier_names}
        self._tiers = (time.monotonic(), run, tiers)
        return tiers

    async def trend_svg(self, trend: list[MonthScore], labels: dict[str, str]) -> str:
        """The CSAT and NPS trend as an SVG chart (drawn off the event loop, and again only
        when the figures change: they change with the surveys, a few times a day)."""
        key = (tuple(trend), tuple(sorted(labels.items())))
        svg = self._charts.get(key)
        if svg is None:
            svg = await asyncio.to_thread(_draw_trend, trend, labels)
            self._charts[key] = svg
            while len(self._charts) > 8:
                del self._charts[next(iter(self._charts))]
        return svg


async def _trend(session: Any, first: date, months: int, zone: ZoneInfo) -> list[MonthScore]:
    """CSAT and NPS of each month (in the shop's time zone), aggregated by the database:
    one query, its rows bucketed by the months' first instants."""
    starts = [first]
    for _ in range(months):
        starts.append((starts[-1] + timedelta(days=32)).replace(day=1))
    edges = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in starts]
    bucket = case(
        *((Survey.answered_at >= edges[i], i) for i in range(months - 1, -1, -1)), else_=-1
    ).label("bucket")
    answered = Survey.answered_at.is_not(None)
    rows = (
        await session.execute(
            select(
                bucket,
                func.count(Survey.csat),
                func.avg(Survey.csat),
                func.count(Survey.nps),
                func.sum(case((Survey.nps >= 9, 1), else_=0)),
                func.sum(case((Survey.nps <= 6, 1), else_=0)),
            )
            .where(answered, Survey.answered_at >= edges[0], Survey.answered_at < edges[-1])
            .group_by(bucket)
        )
    ).all()
    found = {int(row[0]): row for row in rows}
    result = []
    for i in range(months):
        row = found.get(i)
        if row is None:
            result.append(MonthScore(starts[i], 0, None, None))
            continue
        _, csats, csat_mean, npss, promoters, detractors = row
        nps = 100.0 * (int(promoters or 0) - int(detractors or 0)) / npss if npss else None
        result.append(
            MonthScore(
                starts[i],
                max(int(csats), int(npss)),
                float(csat_mean) if csat_mean is not None else None,
                nps,
            )
        )
    return result


def _draw_trend(trend: list[MonthScore], labels: dict[str, str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    ax = figure.add_subplot(1, 1, 1)
    months = [f"{m.month:%m/%Y}" for m in trend]
    xs = list(range(len(trend)))
    csat = [m.csat for m in trend]
    ax.plot(
        [x for x, v in zip(xs, csat, strict=True) if v is not None],
        [v for v in csat if v is not None],
        marker="o",
        color="#1f6f8b",
        label=labels.get("csat", "CSAT"),
    )
    ax.set_ylim(1, 5)
    ax.set_ylabel(labels.get("csat", "CSAT"))
    ax.set_xticks(xs, months)
    other = ax.twinx()
    nps = [m.nps for m in trend]
    other.plot(
        [x for x, v in zip(xs, nps, strict=True) if v is not None],
        [v for v in nps if v is not None],
        marker="s",
        color="#e8a33d",
        label=labels.get("nps", "NPS"),
    )
    other.set_ylim(-100, 100)
    other.set_ylabel(labels.get("nps", "NPS"))
    lines = ax.get_lines() + other.get_lines()
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="lower left", frameon=False)
    for spine in ("top",):
        ax.spines[spine].set_visible(False)
        other.spines[spine].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.find("<svg") :]
