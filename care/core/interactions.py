"""The interaction log: every message in or out, tied to the customer when known.

What staff say and are shown (the staff chat, staff commands) is logged too, marked
``internal``: it may concern a customer, but it never joins anyone's own record, so a
staff member who is also a customer finds in their data only what they said as one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from care.core.db import Database, UnitOfWork
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
    message_id: int | None = None,
    internal: bool = False,
) -> dict[str, Any]:
    """One log entry as column values: what ``InteractionLog.record`` stores, for callers
    that write it in their own transaction (the dispatcher, with a message's outcome)."""
    return {
        "customer_id": customer_id,
        "telegram_user_id": telegram_user_id,
        "chat_id": chat_id,
        "message_id": message_id,
        "channel": str(channel),
        "direction": str(direction),
        "kind": kind,
        "internal": internal,
        "text": text,
        "created_at": at,
    }


class InteractionLog:
    """Records what customers say and what we answer, for learning and for audits.

    ``record`` stores one message in a transaction of its own; ``add`` puts it in the
    caller's unit of work (the bot's per-update unit), stored when that unit commits.
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock
        self._insert = insert(Interaction)  # one statement: rows go in together

    @property
    def insert_statement(self) -> Any:
        """The statement ``add`` queues its entries with."""
        return self._insert

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
        message_id: int | None = None,
        internal: bool = False,
    ) -> None:
        """Log one message. A customer's own exchange is tied to them by Telegram id when
        ``customer_id`` is not given; an internal one only to the customer it names."""
        async with self.db.uow() as uow:
            if customer_id is None and telegram_user_id is not None and not internal:
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
                message_id=message_id,
                internal=internal,
            )
            uow.session.add(Interaction(**values))
            await uow.commit()

    async def timeline(self, customer_id: int, limit: int = 30) -> list[TimelineEntry]:
        """A customer's own record of exchanges, newest first (for the console's card)."""
        return await timeline(self.db, customer_id, limit)

    async def mark_internal(self, chat_id: int, message_id: int) -> None:
        """A message already logged turned out to be staff work (a staff command in the
        staff member's private chat): it leaves their customer record."""
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(Interaction)
                .where(Interaction.chat_id == chat_id, Interaction.message_id == message_id)
                .values(internal=True, customer_id=None)
            )
            await uow.commit()

    def add(
        self,
        uow: UnitOfWork,
        *,
        direction: Direction,
        telegram_user_id: int | None,
        chat_id: int | None,
        kind: str,
        text: str | None,
        customer_id: int | None,
        channel: str = "telegram",
        message_id: int | None = None,
        internal: bool = False,
    ) -> dict[str, Any]:
        """Log one message in ``uow``, tied to ``customer_id`` as the caller knows it (no
        lookup here: the caller has looked the customer up once for its whole update).

        The entry is written when ``uow`` commits, with the other entries of the unit in
        one statement; the returned values identify it for ``withdraw``.
        """
        entry = interaction_values(
            direction=direction,
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            kind=kind,
            text=text,
            at=self.clock(),
            channel=channel,
            customer_id=customer_id,
            message_id=message_id,
            internal=internal,
        )
        uow.later(self._insert, entry)
        return entry

    def withdraw(self, uow: UnitOfWork, entry: dict[str, Any]) -> None:
        """Take back an entry logged for a message that then could not be sent.

        An entry already committed is deleted (one row with exactly its values: rows that
        equal it in every column are the same entry twice, either one may go).
        """
        if uow.take_back(entry):
            return
        same = [
            getattr(Interaction, name).is_not_distinct_from(value) for name, value in entry.items()
        ]
        one = select(Interaction.id).where(*same).order_by(Interaction.id.desc()).limit(1)
        uow.later(delete(Interaction).where(Interaction.id == one.scalar_subquery()))


async def timeline(db: Database, customer_id: int, limit: int = 30) -> list[TimelineEntry]:
    """A customer's own record of exchanges, newest first (staff-internal lines left out)."""
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(
                Interaction.created_at,
                Interaction.direction,
                Interaction.channel,
                Interaction.kind,
                Interaction.text,
            )
            .where(Interaction.customer_id == customer_id, Interaction.internal.is_(False))
            .order_by(Interaction.created_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
        return [
            TimelineEntry(at, direction, channel, kind, text)
            for at, direction, channel, kind, text in rows.all()
        ]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    direction: str
    channel: str
    kind: str
    text: str | None
