"""Who is signed in to the web console, and what they changed there.

Staff sign in without passwords: they are known by their Telegram id, and a one-time link
(15 minutes, single use) is sent to them by the bot (``/console`` in a private chat) or
printed by ``carebot console login-link``. Only the SHA-256 of a link's token is stored,
and using it is one conditional UPDATE, so two clicks on the same link sign in once.

A signed-in browser holds a session token (the web app signs it into its cookie); the
session ends at logout, after ``IDLE`` without a request, or at once when its staff member
is removed, because every request looks the session up together with the staff register.
Each session has its own CSRF token for the forms it posts.

Every change made in the console is written to the audit log: who, what, on which record,
when; managers read it in the console.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from care.core.db import Database
from care.core.models import AuditEntry, ConsoleLoginLink, ConsoleSession, Staff, StaffRole
from care.core.settings import Settings
from care.core.text import utcnow

LINK_TTL = timedelta(minutes=15)
IDLE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
LOGIN_PATH = "/console/login"
MAX_TOKEN = 200  # longer is not ours: refused before any hashing or lookup


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsoleUser:
    """The staff member behind a console session."""

    staff_id: int
    telegram_user_id: int
    name: str
    role: str
    csrf_token: str

    @property
    def is_manager(self) -> bool:
        return self.role == StaffRole.MANAGER


@dataclass(frozen=True)
class SignIn:
    """A new session: its token (for the cookie) and who it is for."""

    token: str
    user: ConsoleUser


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    staff_name: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


class ConsoleAccess:
    """Login links, console sessions and the audit log."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def login_link(self, telegram_user_id: int) -> str | None:
        """The console's one-time sign-in URL for an active staff member; None for anyone
        else."""
        token = await self.login_token(telegram_user_id)
        if token is None:
            return None
        return f"{self.settings.public_base_url.rstrip('/')}{LOGIN_PATH}?token={token}"

    async def login_token(self, telegram_user_id: int) -> str | None:
        """A new one-time login token for an active staff member; None for anyone else."""
        now = self.clock()
        async with self.db.uow() as uow:
            staff_id = await uow.session.scalar(
                select(Staff.id).where(
                    Staff.telegram_user_id == telegram_user_id, Staff.active.is_(True)
                )
            )
            if staff_id is None:
                return None
            token = secrets.token_urlsafe(32)
            uow.session.add(
                ConsoleLoginLink(
                    staff_id=staff_id,
                    token_hash=_hash(token),
                    expires_at=now + LINK_TTL,
                    created_at=now,
                )
            )
            await uow.commit()
            return token

    async def link_is_usable(self, token: str) -> bool:
        """Whether a login token would sign someone in now (for the page before the button)."""
        if not token or len(token) > MAX_TOKEN:
            return False
        now = self.clock()
        async with self.db.uow() as uow:
            found = await uow.session.scalar(
                select(ConsoleLoginLink.id)
                .join(Staff, Staff.id == ConsoleLoginLink.staff_id)
                .where(
                    ConsoleLoginLink.token_hash == _hash(token),
                    ConsoleLoginLink.used_at.is_(None),
                    ConsoleLoginLink.expires_at > now,
                    Staff.active.is_(True),
                )
            )
            return found is not None

    async def sign_in(self, token: str) -> SignIn | None:
        """Use a login token: a new session, or None if the token is unknown, used, expired,
        or its staff member was removed. A token signs in once, whatever races."""
        if not token or len(token) > MAX_TOKEN:
            return None
        now = self.clock()
        async with self.db.uow() as uow:
            link = await uow.session.scalar(
                select(ConsoleLoginLink).where(ConsoleLoginLink.token_hash == _hash(token))
            )
            if link is None:
                return None
            used = await uow.session.execute(
                update(ConsoleLoginLink)
                .where(
                    ConsoleLoginLink.id == link.id,
                    ConsoleLoginLink.used_at.is_(None),
                    ConsoleLoginLink.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            staff = await uow.session.get(Staff, link.staff_id)
            if used.rowcount != 1 or staff is None or not staff.active:  # type: ignore[attr-defined]
                await uow.commit()
                return None
            session_token = secrets.token_urlsafe(32)
            row = ConsoleSession(
                staff_id=staff.id,
                token_hash=_hash(session_token),
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
            )
            uow.session.add(row)
            await uow.commit()
            user = ConsoleUser(
                staff.id, staff.telegram_user_id, staff.name, staff.role, row.csrf_token
            )
            return SignIn(session_token, user)

    async def user(self, session_token: str) -> ConsoleUser | None:
        """The staff member of a live session, or None: unknown, ended, idle too long, or the
        staff member removed (checked on every request, so removal ends it at once)."""
        if not session_token or len(session_token) > MAX_TOKEN:
            return None
        now = self.clock()
        async with self.db.uow() as uow:
            row = (
                await uow.session.execute(
                    select(ConsoleSession, Staff)
                    .join(Staff, Staff.id == ConsoleSession.staff_id)
                    .where(
                        ConsoleSession.token_hash == _hash(session_token),
                        ConsoleSession.ended_at.is_(None),
                    )
                )
            ).one_or_none()
            if row is None:
                return None
            session, staff = row
            if not staff.active or session.last_seen_at <= now - IDLE:
                session.ended_at = now
                await uow.commit()
                return None
            if now - session.last_seen_at >= TOUCH_EVERY:
                session.last_seen_at = now
                await uow.commit()
            return ConsoleUser(
                staff.id, staff.telegram_user_id, staff.name, staff.role, session.csrf_token
            )

    async def sign_out(self, session_token: str) -> None:
        """End a session (logout); its cookie is worthless from now on."""
        if not session_token or len(session_token) > MAX_TOKEN:
            return
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(ConsoleSession)
                .where(
                    ConsoleSession.token_hash == _hash(session_token),
                    ConsoleSession.ended_at.is_(None),
                )
                .values(ended_at=self.clock())
            )
            await uow.commit()

    async def end_sessions(self, staff_id: int) -> int:
        """End every session of a staff member (when they are removed or demoted)."""
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                update(ConsoleSession)
                .where(ConsoleSession.staff_id == staff_id, ConsoleSession.ended_at.is_(None))
                .values(ended_at=self.clock())
            )
            await uow.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    # --- the audit log -------------------------------------------------------------------

    async def record(
        self,
        user: ConsoleUser,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one change made in the console to the audit log."""
        async with self.db.uow() as uow:
            uow.session.add(
                AuditEntry(
                    staff_id=user.staff_id,
                    staff_name=user.name,
                    action=action,
                    target=target,
                    detail=detail,
                    at=self.clock(),
                )
            )
            await uow.commit()

    async def audit_log(
        self, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[AuditRecord], int]:
        """The newest changes first, and how many there are in all."""
        async with self.db.uow() as uow:
            total = await uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0
            rows = await uow.session.scalars(
                select(AuditEntry)
                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [
                AuditRecord(r.at, r.staff_name, r.action, r.target, r.detail) for r in rows
            ], int(total)
