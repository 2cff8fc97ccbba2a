"""The staff register: who may work tickets in the team chat.

Being a member of the Telegram staff group is not enough: anyone can be added to a group,
so every staff button and command checks this register first. Removing someone keeps
their row (tickets they handled still name them) and only marks it inactive.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from care.core.db import Database
from care.core.models import Staff, StaffRole
from care.core.text import clean, fold


class StaffError(ValueError):
    """A staff change that cannot be made (bad role, empty name)."""


@dataclass(frozen=True)
class StaffMember:
    id: int
    telegram_user_id: int
    name: str
    role: str
    active: bool


def _view(row: Staff) -> StaffMember:
    return StaffMember(row.id, row.telegram_user_id, row.name, row.role, row.active)


class StaffService:
    """Adds, lists and removes staff, and answers "may this Telegram user act as staff?"."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, telegram_user_id: int, name: str, role: str = StaffRole.AGENT
    ) -> StaffMember:
        """Register someone, or bring back and update someone removed earlier."""
        name = clean(name)
        if not name:
            raise StaffError("the name is empty")
        if role not in {r.value for r in StaffRole}:
            raise StaffError(f"unknown role {role!r}; use agent or manager")
        if telegram_user_id <= 0:
            raise StaffError("a Telegram user id is a positive number")
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(Staff).where(Staff.telegram_user_id == telegram_user_id)
            )
            if row is None:
                row = Staff(telegram_user_id=telegram_user_id, name=name, role=role)
                uow.session.add(row)
            else:
                row.name, row.role, row.active = name, role, True
            await uow.commit()
            return _view(row)

    async def list(self, *, include_inactive: bool = False) -> list[StaffMember]:
        async with self.db.uow() as uow:
            query = select(Staff).order_by(Staff.name, Staff.id)
            if not include_inactive:
                query = query.where(Staff.active.is_(True))
            return [_view(row) for row in await uow.session.scalars(query)]

    async def remove(self, telegram_user_id: int) -> bool:
        """Withdraw someone's staff rights at once; False if they were not active staff."""
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(Staff).where(Staff.telegram_user_id == telegram_user_id)
            )
            if row is None or not row.active:
                return False
            row.active = False
            await uow.commit()
            return True

    async def get(self, telegram_user_id: int | None) -> StaffMember | None:
        """The active staff member behind a Telegram account, or None for everyone else."""
        if telegram_user_id is None:
            return None
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(Staff).where(
                    Staff.telegram_user_id == telegram_user_id, Staff.active.is_(True)
                )
            )
            return _view(row) if row is not None else None

    async def is_staff(self, telegram_user_id: int | None) -> bool:
        return await self.get(telegram_user_id) is not None

    async def find(self, ref: str) -> StaffMember | None:
        """The active staff member a person names: a Telegram user id, or a name (any case,
        with or without diacritics) that only one active staff member has."""
        ref = ref.strip()
        if not ref:
            return None
        if ref.isdigit():
            return await self.get(int(ref))
        wanted = fold(ref)
        matches = [m for m in await self.list() if fold(m.name) == wanted]
        return matches[0] if len(matches) == 1 else None
