"""SQL expressions more than one domain package asks: kept in the kernel so that neither
has to reach into the other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from care.core.models import Complaint, ComplaintStatus

OPEN_TICKET_STATUSES = (ComplaintStatus.OPEN, ComplaintStatus.CLAIMED)


def latest_open(query: Any) -> Any:
    """``query`` (of complaint ids) narrowed to the latest ticket still open."""
    # or_ rather than in_: plain parameters, nothing to expand at each execution.
    return (
        query.where(or_(*(Complaint.status == status for status in OPEN_TICKET_STATUSES)))
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(1)
    )


def latest_open_ticket(customer_id: Any) -> Any:
    """The id of the latest ticket open with a customer, as a scalar subquery: of the
    customer ``customer_id``, or of each row when given a column (``Customer.id``)."""
    return latest_open(
        select(Complaint.id).where(Complaint.customer_id == customer_id)
    ).scalar_subquery()
