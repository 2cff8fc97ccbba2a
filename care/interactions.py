"""The interaction log: every message in or out, tied to the customer when known."""

from __future__ import annotations

from sqlalchemy import select

from care.db import Database
from care.models import Customer, Direction, Interaction
from care.text import utcnow


class InteractionLog:
    """Records what customers say and what we answer, for learning and for audits."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
            uow.session.add(
                Interaction(
                    customer_id=customer_id,
                    telegram_user_id=telegram_user_id,
                    chat_id=chat_id,
                    channel=channel,
                    direction=direction,
                    kind=kind,
                    text=text,
                    created_at=utcnow(),
                )
            )
            await uow.commit()
