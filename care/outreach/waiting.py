"""What waits to be sent: scheduled campaigns and the outbox's open rows.

For people watching the care programme (``carebot scheduler jobs``, ``campaign send``'s
progress bar): read-only counts, one unit of work each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from care.core.db import Database
from care.core.models import Campaign, CampaignStatus, OutboxMessage, OutboxStatus
from care.outreach.outbox import OPEN_STATUSES


@dataclass(frozen=True)
class ScheduledCampaign:
    name: str
    scheduled_at: datetime | None


@dataclass(frozen=True)
class OutboxBacklog:
    """Open outbox rows of one status, and when the earliest of them is due."""

    status: str
    count: int
    earliest: datetime | None


async def scheduled_campaigns(db: Database) -> list[ScheduledCampaign]:
    """Campaigns waiting for their date, the soonest first."""
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(Campaign.name, Campaign.scheduled_at)
            .where(Campaign.status == CampaignStatus.SCHEDULED)
            .order_by(Campaign.scheduled_at)
        )
        return [ScheduledCampaign(name, at) for name, at in rows]


async def outbox_backlog(db: Database) -> list[OutboxBacklog]:
    """The outbox's open rows by status (pending, sending, uncertain...)."""
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.status, func.count(), func.min(OutboxMessage.next_attempt_at))
            .where(OutboxMessage.status.in_(OPEN_STATUSES))
            .group_by(OutboxMessage.status)
        )
        return [OutboxBacklog(status, count, earliest) for status, count, earliest in rows]


async def campaign_due(db: Database, campaign_id: int, now: datetime) -> bool:
    """Whether some of a campaign's rows are being sent or due now (not all waiting for
    the morning or a retry)."""
    async with db.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).where(
                OutboxMessage.campaign_id == campaign_id,
                (OutboxMessage.status == OutboxStatus.SENDING)
                | (
                    (OutboxMessage.status == OutboxStatus.PENDING)
                    & (OutboxMessage.next_attempt_at <= now)
                ),
            )
        )
    return bool(count)
