"""Complaint statistics: how often, about what, how severe, how fast and how well resolved.

Figures are computed from the tickets themselves, not from the reminders sent: a ticket
answered after its first-response deadline is a breach even if no reminder went out
(the scheduler was down), and an open ticket past its deadline is one already.

Periods are local calendar days (the shop's time zone), ``until`` included; tickets count
in the period they were filed in, surveys in the period they were answered in.

* CSAT: the mean score and the share of 4s and 5s among the answers.
* NPS: the share of promoters (9-10) minus the share of detractors (0-6), in points
  from -100 to 100.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlalchemy import select

from care.core.db import Database
from care.core.models import Complaint, ComplaintStatus, Customer, Survey
from care.core.settings import Settings
from care.core.text import to_local
from care.tickets import sla
from care.tickets.surveys import DIMENSIONS

CATEGORY_ORDER = (
    "product_quality",
    "delivery",
    "billing",
    "staff_attitude",
    "warranty",
    "other",
)
SEVERITY_ORDER = tuple(s.value for s in sla.SEVERITY_ORDER)
STATUS_ORDER = tuple(s.value for s in ComplaintStatus)


@dataclass(frozen=True)
class Durations:
    """Median first-response and resolution times, and deadline breaches, of some tickets."""

    median_first_response: timedelta | None
    median_resolution: timedelta | None
    first_response_breaches: int
    resolution_breaches: int


@dataclass(frozen=True)
class MonthRow:
    month: date  # the first day of the month
    complaints: int
    resolved: int
    durations: Durations


@dataclass(frozen=True)
class RepeatComplainer:
    customer_id: int
    code: str
    name: str
    complaints: int


@dataclass(frozen=True)
class SurveySummary:
    responses: int  # surveys with a CSAT
    csat_mean: float | None
    csat_satisfied_share: float | None  # share (0-1) of 4 and 5
    dimensions: dict[str, float | None]
    nps_responses: int
    nps: float | None  # -100 .. 100
    promoters: int
    detractors: int


@dataclass(frozen=True)
class ComplaintStatistics:
    since: date | None
    until: date | None
    total: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    by_status: dict[str, int]
    durations: Durations
    repeat_complainers: list[RepeatComplainer]
    months: list[MonthRow]
    surveys: SurveySummary
    by_trigger: dict[str, SurveySummary] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    customer_id: int
    category: str
    severity: str
    status: str
    created_at: datetime
    first_response_at: datetime | None
    first_response_due: datetime | None
    resolved_at: datetime | None
    resolution_due: datetime | None


def _counts(values: Iterable[str], order: Iterable[str]) -> dict[str, int]:
    counter = Counter(values)
    table = {key: counter.pop(key, 0) for key in order}
    table.update(sorted(counter.items()))  # values the vocabulary does not know yet
    return table


def durations(rows: list[_Row], now: datetime) -> Durations:
    """Medians and breaches; an open ticket past a deadline counts as a breach now."""
    first = [r.first_response_at - r.created_at for r in rows if r.first_response_at]
    resolved = [
        r.resolved_at - r.created_at
        for r in rows
        if r.status == ComplaintStatus.RESOLVED and r.resolved_at
    ]
    first_breaches = sum(
        1
        for r in rows
        if r.first_response_due is not None and (r.first_response_at or now) > r.first_response_due
    )
    resolution_breaches = sum(
        1
        for r in rows
        if r.resolution_due is not None
        and ((r.resolved_at if r.status == ComplaintStatus.RESOLVED else None) or now)
        > r.resolution_due
    )
    return Durations(
        median_first_response=_median(first) if first else None,
        median_resolution=_median(resolved) if resolved else None,
        first_response_breaches=first_breaches,
        resolution_breaches=resolution_breaches,
    )


def _median(spans: list[timedelta]) -> timedelta:
    """The middle span, or the mean of the middle two: statistics.median's rule, which that
    function documents for numbers only."""
    ordered = sorted(spans)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def summarise_surveys(surveys: list[Survey]) -> SurveySummary:
    answered = [s for s in surveys if s.csat is not None]
    csat = [s.csat for s in answered if s.csat is not None]
    nps = [s.nps for s in surveys if s.nps is not None]
    dims: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        values = [getattr(s, dimension) for s in surveys if getattr(s, dimension) is not None]
        dims[dimension] = mean(values) if values else None
    promoters = sum(1 for n in nps if n >= 9)
    detractors = sum(1 for n in nps if n <= 6)
    return SurveySummary(
        responses=len(csat),
        csat_mean=mean(csat) if csat else None,
        csat_satisfied_share=sum(1 for c in csat if c >= 4) / len(csat) if csat else None,
        dimensions=dims,
        nps_responses=len(nps),
        nps=100.0 * (promoters - detractors) / len(nps) if nps else None,
        promoters=promoters,
        detractors=detractors,
    )


class ComplaintStats:
    """Computes the figures of ``carebot report complaints`` and the staff chat's /stats."""

    def __init__(self, settings: Settings, db: Database, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    def _bounds(self, since: date | None, until: date | None) -> tuple[datetime | None, ...]:
        start = datetime.combine(since, time(), tzinfo=self.zone) if since else None
        end = (
            datetime.combine(until + timedelta(days=1), time(), tzinfo=self.zone) if until else None
        )
        return start, end

    async def compute(
        self, since: date | None = None, until: date | None = None
    ) -> ComplaintStatistics:
        """Every figure for tickets filed (and surveys answered) from ``since`` to ``until``."""
        if since and until and since > until:
            raise ValueError("the start of the period is after its end")
        start, end = self._bounds(since, until)
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            query = select(
                Complaint.customer_id,
                Complaint.category,
                Complaint.severity,
                Complaint.status,
                Complaint.created_at,
                Complaint.first_response_at,
                Complaint.first_response_due,
                Complaint.resolved_at,
                Complaint.resolution_due,
            )
            if start is not None:
                query = query.where(Complaint.created_at >= start)
            if end is not None:
                query = query.where(Complaint.created_at < end)
            rows = [_Row(*row) for row in await session.execute(query)]
            per_customer = Counter(r.customer_id for r in rows)
            repeaters = [cid for cid, n in per_customer.items() if n >= 2]
            names: dict[int, tuple[str, str]] = {}
            if repeaters:
                found = await session.execute(
                    select(Customer.id, Customer.code, Customer.name).where(
                        Customer.id.in_(repeaters)
                    )
                )
                names = {cid: (code, name) for cid, code, name in found}
            survey_query = select(Survey).where(Survey.answered_at.is_not(None))
            if start is not None:
                survey_query = survey_query.where(Survey.answered_at >= start)
            if end is not None:
                survey_query = survey_query.where(Survey.answered_at < end)
            surveys = list(await session.scalars(survey_query))
            session.expunge_all()  # plain values from here on, after the session closes
        repeat = sorted(
            (RepeatComplainer(cid, *names[cid], per_customer[cid]) for cid in repeaters),
            key=lambda r: (-r.complaints, r.name, r.customer_id),
        )
        months: dict[date, list[_Row]] = {}
        for row in rows:
            local = to_local(row.created_at, self.zone)
            months.setdefault(date(local.year, local.month, 1), []).append(row)
        triggers = sorted({s.trigger for s in surveys})
        return ComplaintStatistics(
            since=since,
            until=until,
            total=len(rows),
            by_category=_counts((r.category for r in rows), CATEGORY_ORDER),
            by_severity=_counts((r.severity for r in rows), SEVERITY_ORDER),
            by_status=_counts((r.status for r in rows), STATUS_ORDER),
            durations=durations(rows, now),
            repeat_complainers=repeat,
            months=[
                MonthRow(
                    month=month,
                    complaints=len(group),
                    resolved=sum(1 for r in group if r.status == ComplaintStatus.RESOLVED),
                    durations=durations(group, now),
                )
                for month, group in sorted(months.items())
            ],
            surveys=summarise_surveys(surveys),
            by_trigger={
                trigger: summarise_surveys([s for s in surveys if s.trigger == trigger])
                for trigger in triggers
            },
        )
