"""Service-level targets for tickets: how fast a customer must hear from us, and be helped.

Targets come from the settings per tier (``sla_first_response_hours``,
``sla_resolution_hours``; the top tier is the fastest) and are scaled by the severity
(``sla_severity_factor``: a critical ticket gets a quarter of the time). A ticket keeps the
deadlines computed when it was filed, so a later change of tier does not move them.

A breach is noticed by ``DeadlineWatch.check``, run by the scheduler every few minutes. It
posts one reminder per breach to the staff chat through the outbox, and marks the ticket
(``first_response_breach_at`` / ``resolution_breach_at``) in the same transaction as the
outbox row: running the check twice, or in two processes, reminds once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from care.core.db import Database
from care.core.models import Complaint, ComplaintStatus, Severity
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import format_duration
from care.outreach import Outbox

DEFAULT_TIER = "member"
FIRST = "first"
RESOLUTION = "resolution"
SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


class Targets(NamedTuple):
    first_response: timedelta
    resolution: timedelta


def tier_or_default(settings: Settings, tier: str | None) -> str:
    """A customer's tier as the SLA knows it: unknown or missing tiers are the base tier."""
    if tier and tier in settings.sla_resolution_hours:
        return tier
    return settings.tier_names[-1] if settings.tier_names else DEFAULT_TIER


def targets(settings: Settings, tier: str | None, severity: str) -> Targets:
    """The first-response and resolution targets of a ticket of this tier and severity."""
    tier = tier_or_default(settings, tier)
    factor = settings.sla_severity_factor.get(severity, 1.0)
    base_first = settings.sla_first_response_hours.get(tier)
    base_resolution = settings.sla_resolution_hours.get(tier)
    if base_first is None or base_resolution is None:
        base_first = max(settings.sla_first_response_hours.values())
        base_resolution = max(settings.sla_resolution_hours.values())
    return Targets(
        first_response=timedelta(hours=base_first * factor),
        resolution=timedelta(hours=base_resolution * factor),
    )


def tier_rank(settings: Settings, tier: str | None) -> int:
    """0 for the top tier; tiers the settings do not name come last."""
    names = list(settings.tier_names)
    return names.index(tier) if tier in names else len(names)


def severity_rank(severity: str) -> int:
    """0 for critical ... 3 for low."""
    values = [s.value for s in SEVERITY_ORDER]
    return values.index(severity) if severity in values else len(values)


def first_response_overdue(ticket: Complaint, now: datetime) -> bool:
    """Nobody has answered the customer and the first-response target has passed."""
    return (
        ticket.first_response_at is None
        and ticket.status != ComplaintStatus.RESOLVED
        and ticket.first_response_due is not None
        and ticket.first_response_due < now
    )


def resolution_overdue(ticket: Complaint, now: datetime) -> bool:
    return (
        ticket.status != ComplaintStatus.RESOLVED
        and ticket.resolution_due is not None
        and ticket.resolution_due < now
    )


@dataclass(frozen=True)
class Breach:
    """One ticket past one target, reminded about now."""

    complaint_id: int
    code: str
    kind: str  # FIRST or RESOLUTION
    due: datetime
    key: str  # the outbox idempotency key of the reminder


def breach_key(ticket: Complaint, kind: str) -> str:
    """``breach:first:<id>``; a reopened ticket's new resolution deadline gets its own key."""
    key = f"breach:{kind}:{ticket.id}"
    if kind == RESOLUTION and ticket.reopened_at is not None:
        key += f":{int(ticket.reopened_at.timestamp())}"
    return key


class DeadlineWatch:
    """Notices tickets past their targets and reminds the staff chat once per breach."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        renderer: Renderer,
        outbox: Outbox,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.renderer = renderer
        self.outbox = outbox
        self.clock = clock

    def _tier_label(self, language: str, tier: str) -> str:
        return self.renderer.label_or(language, f"segmentation.tier.{tier}", tier)

    async def check(self, now: datetime | None = None) -> list[Breach]:
        """Remind the staff chat, once, of every open ticket that has just passed a target.

        The scheduler's job: safe to run as often as wanted, late, twice or in two processes.
        """
        now = now or self.clock()
        settings = self.settings
        renderer = self.renderer
        language = settings.default_language
        found: list[Breach] = []
        async with self.db.uow() as uow:
            session = uow.session
            candidates = await session.scalars(
                select(Complaint)
                .options(selectinload(Complaint.customer), selectinload(Complaint.claimed_by))
                .where(
                    Complaint.status != ComplaintStatus.RESOLVED,
                    (
                        (
                            Complaint.first_response_breach_at.is_(None)
                            & Complaint.first_response_at.is_(None)
                            & (Complaint.first_response_due < now)
                        )
                        | (
                            Complaint.resolution_breach_at.is_(None)
                            & (Complaint.resolution_due < now)
                        )
                    ),
                )
                .order_by(Complaint.id)
            )
            for ticket in list(candidates):
                for kind in (FIRST, RESOLUTION):
                    if kind == FIRST:
                        overdue = first_response_overdue(ticket, now)
                        column, due = Complaint.first_response_breach_at, ticket.first_response_due
                    else:
                        overdue = resolution_overdue(ticket, now)
                        column, due = Complaint.resolution_breach_at, ticket.resolution_due
                    if not overdue or due is None:
                        continue
                    marked = await session.execute(
                        update(Complaint)
                        .where(Complaint.id == ticket.id, column.is_(None))
                        .values({column.key: now})
                        .execution_options(synchronize_session=False)
                    )
                    if not marked.rowcount:  # type: ignore[attr-defined]  # typed Result, is a CursorResult
                        continue  # another run got there first
                    key = breach_key(ticket, kind)
                    body = renderer.chat(
                        language,
                        "ticket_breach",
                        kind=kind,
                        code=ticket.code,
                        customer=ticket.customer.name,
                        tier=self._tier_label(language, tier_or_default(settings, ticket.tier)),
                        severity=renderer.label(language, f"complaint.severity.{ticket.severity}"),
                        due=due,
                        late=format_duration(now - due, language),
                        assignee=ticket.claimed_by.name if ticket.claimed_by else None,
                    )
                    await self.outbox.to_staff(session, key=key, body=body, now=now)
                    found.append(Breach(ticket.id, ticket.code or "", kind, due, key))
            await uow.commit()
        return found
