"""Staff performance: per staff member and period, the tickets they handled, how fast they
answered and resolved them, the deadlines missed, their customers' CSAT, and the contacts
they logged.

A ticket belongs to whoever claimed it (or, unclaimed, resolved it) and counts in the period
it was filed in, like the complaint statistics; a contact counts in the period it took place.
Medians and 90th percentiles are of the spans from filing to the first answer and to the
resolution; the 90th percentile is the nearest rank (the smallest span that at least 90 %
of the tickets did not exceed), exact for the small counts of one person's month.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from care.core.db import Database
from care.core.models import Complaint, ComplaintStatus, Contact, ContactStatus, Staff, Survey
from care.core.settings import Settings
from care.core.text import to_local


@dataclass(frozen=True)
class StaffFigures:
    staff_id: int
    name: str
    tickets: int
    resolved: int
    median_first_response: timedelta | None
    p90_first_response: timedelta | None
    median_resolution: timedelta | None
    p90_resolution: timedelta | None
    first_response_breaches: int
    resolution_breaches: int
    csat_responses: int
    csat_mean: float | None
    contacts: int

    @property
    def breaches(self) -> int:
        return self.first_response_breaches + self.resolution_breaches


@dataclass(frozen=True)
class StaffReport:
    since: date
    until: date
    staff: list[StaffFigures]
    unassigned_open: int  # tickets of the period nobody has claimed


def percentile(spans: list[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile of some spans; None for none."""
    if not spans:
        return None
    ordered = sorted(spans)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def median(spans: list[timedelta]) -> timedelta | None:
    if not spans:
        return None
    ordered = sorted(spans)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class StaffPerformance:
    """Computes `carebot report staff` and what the console shows of each staff member."""

    def __init__(self, settings: Settings, db: Database, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)

    async def compute(self, since: date | None = None, until: date | None = None) -> StaffReport:
        """Figures of every staff member (active, or with work in the period), best-known
        names first; the last 30 days unless told otherwise."""
        now = self.clock()
        until = until or to_local(now, self.zone).date()
        since = since or until - timedelta(days=29)
        if since > until:
            raise ValueError("the start of the period is after its end")
        start = datetime.combine(since, time(), tzinfo=self.zone)
        end = datetime.combine(until + timedelta(days=1), time(), tzinfo=self.zone)
        owner = func.coalesce(Complaint.claimed_by_id, Complaint.resolved_by_id)
        async with self.db.uow() as uow:
            s = uow.session
            tickets = (
                await s.execute(
                    select(
                        Complaint.id,
                        owner,
                        Complaint.status,
                        Complaint.created_at,
                        Complaint.first_response_at,
                        Complaint.first_response_due,
                        Complaint.resolved_at,
                        Complaint.resolution_due,
                    ).where(Complaint.created_at >= start, Complaint.created_at < end)
                )
            ).all()
            ticket_owner = {row[0]: row[1] for row in tickets}
            surveys = (
                await s.execute(
                    select(Survey.complaint_id, Survey.csat).where(
                        Survey.complaint_id.in_(list(ticket_owner)), Survey.csat.is_not(None)
                    )
                )
            ).all()
            contacts = dict(
                (
                    await s.execute(
                        select(Contact.staff_id, func.count())
                        .where(
                            Contact.status == ContactStatus.DONE,
                            Contact.staff_id.is_not(None),
                            Contact.done_at >= start,
                            Contact.done_at < end,
                        )
                        .group_by(Contact.staff_id)
                    )
                ).all()
            )
            people = (await s.execute(select(Staff.id, Staff.name, Staff.active))).all()

        by_staff: dict[int, list[tuple[object, ...]]] = defaultdict(list)
        unassigned = 0
        for row in tickets:
            if row[1] is None:
                unassigned += row[2] != ComplaintStatus.RESOLVED
                continue
            by_staff[row[1]].append(tuple(row))
        csat: dict[int, list[int]] = defaultdict(list)
        for complaint_id, score in surveys:
            owner_id = ticket_owner.get(complaint_id) if complaint_id is not None else None
            if owner_id is not None and score is not None:
                csat[owner_id].append(score)

        figures = []
        for staff_id, name, active in people:
            rows = by_staff.get(staff_id, [])
            if not active and not rows and not contacts.get(staff_id):
                continue
            figures.append(self._figures(staff_id, name, rows, csat[staff_id], contacts, now))
        figures.sort(key=lambda f: (-f.tickets, -f.contacts, f.name))
        return StaffReport(since=since, until=until, staff=figures, unassigned_open=unassigned)

    def _figures(
        self,
        staff_id: int,
        name: str,
        rows: list[tuple[object, ...]],
        scores: list[int],
        contacts: dict[int | None, int],
        now: datetime,
    ) -> StaffFigures:
        first: list[timedelta] = []
        resolution: list[timedelta] = []
        first_breaches = resolution_breaches = resolved = 0
        for _, _, status, created, first_at, first_due, resolved_at, resolution_due in rows:
            assert isinstance(created, datetime)
            if isinstance(first_at, datetime):
                first.append(first_at - created)
            done = status == ComplaintStatus.RESOLVED and isinstance(resolved_at, datetime)
            if done:
                assert isinstance(resolved_at, datetime)
                resolved += 1
                resolution.append(resolved_at - created)
            if (
                isinstance(first_due, datetime)
                and (first_at if isinstance(first_at, datetime) else now) > first_due
            ):
                first_breaches += 1
            if (
                isinstance(resolution_due, datetime)
                and (resolved_at if done and isinstance(resolved_at, datetime) else now)
                > resolution_due
            ):
                resolution_breaches += 1
        return StaffFigures(
            staff_id=staff_id,
            name=name,
            tickets=len(rows),
            resolved=resolved,
            median_first_response=median(first),
            p90_first_response=percentile(first, 0.9),
            median_resolution=median(resolution),
            p90_resolution=percentile(resolution, 0.9),
            first_response_breaches=first_breaches,
            resolution_breaches=resolution_breaches,
            csat_responses=len(scores),
            csat_mean=mean(scores) if scores else None,
            contacts=contacts.get(staff_id, 0),
        )
