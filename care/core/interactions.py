"""The interaction log: every message in or out, tied to the customer when known."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from care.core.db import Database
from care.core.models import Customer, Direction, Interaction
from care.core.text import utcnow


def interaction_values(
    *,
    direction: Direction,
    telegram_user_id: int | None,
    chat_id: int | None,
    kind: str,
    text: str | None,
    at: datetime,
    channel: str = "telegram",
    customer_id: int | None = None,
) -> dict[str, Any]:
    """One log entry as column values: what ``InteractionLog.record`` stores, for callers
    that write it in their own transaction (the dispatcher, with a message's outcome)."""
    return {
        "customer_id": customer_id,
        "telegram_user_id": telegram_user_id,
        "chat_id": chat_id,
        "channel": str(channel),
        "direction": str(direction),
        "kind": kind,
        "text": text,
        "created_at": at,
    }


class InteractionLog:
    """Records what customers say and what we answer, for learning and for audits."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def record(
        self,
        *,
        direction: Direction,
        telegram_user_id: int | None,
        chat_id: int | None,
        kind: str,
        text: str | None,
        channel: str = "telegram",
        customer_id: int | None = None,
    ) -> None:
        """Log one message; the customer is looked up by Telegram id when not given."""
        async with self.db.uow() as uow:
            if customer_id is None and telegram_user_id is not None:
                customer_id = await uow.session.scalar(
                    select(Customer.id).where(Customer.telegram_user_id == telegram_user_id)
                )
            values = interaction_values(
                direction=direction,
                telegram_user_id=telegram_user_id,
                chat_id=chat_id,
                kind=kind,
                text=text,
                at=self.clock(),
                channel=channel,
                customer_id=customer_id,
            )
            uow.session.add(Interaction(**values))
            await uow.commit()
