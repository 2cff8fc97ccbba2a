"""API keys: who may call the HTTP API, and what for.

A key is made once and shown once: ``cbk_<prefix>_<secret>``. Only its SHA-256 hash is
stored (a key is 32 random bytes, so a fast hash is as good as a slow one: there is no
dictionary to try), with the prefix in clear to find its row. A revoked key stops working
at once: every request looks its row up.

Scopes say what a key may do: ``customers:write``, ``orders:write``, ``products:write``,
``webhooks:write`` and ``read`` (every GET).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from care.core.db import Database
from care.core.models import ApiKey
from care.core.text import clean

SCOPES = ("customers:write", "orders:write", "products:write", "webhooks:write", "read")
KEY_PREFIX = "cbk_"
_NAME = re.compile(r"^[\w.\-]{1,100}$")
_KEY = re.compile(r"^cbk_([A-Za-z0-9]{8})_([A-Za-z0-9_\-]{20,100})$")
# last_used_at is written at most this often per key: not one write per request.
_USED_EVERY = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A name or scope that cannot be used; the message says why."""


@dataclass(frozen=True)
class ApiKeyView:
    """A key as staff and the API see it: never the key itself."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyView:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=tuple(row.scopes or ()),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: ``key`` is shown this once and never again."""

    view: ApiKeyView
    key: str


def parse_scopes(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"customers:write, read"`` (or a list) as known scopes, in the canonical order."""
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = {clean(item).lower() for item in items if clean(item)}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}")
    if not wanted:
        raise ApiKeyError(f"give at least one scope: {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in wanted)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Make, list, revoke and check API keys (the CLI and the console call these)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    async def create(self, name: str, scopes: str | Iterable[str]) -> NewApiKey:
        """A new key named ``name`` (letters, digits, ``.``, ``_``, ``-``); the key is in the
        result once. Raises ApiKeyError for a bad or taken name or an unknown scope."""
        name = clean(name)
        if not _NAME.fullmatch(name):
            raise ApiKeyError(
                f"the name '{name}' is not usable: 1-100 letters, digits, '.', '_' or '-'"
            )
        granted = parse_scopes(scopes)
        async with self.db.uow() as uow:
            taken = await uow.session.scalar(select(ApiKey.id).where(ApiKey.name == name))
            if taken is not None:
                raise ApiKeyError(
                    f"a key named '{name}' exists already (revoke it or pick another)"
                )
            prefix = secrets.token_hex(4)
            key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
            row = ApiKey(
                name=name,
                prefix=prefix,
                key_hash=hash_key(key),
                scopes=list(granted),
                created_at=self.clock(),
            )
            uow.session.add(row)
            await uow.session.flush()
            view = ApiKeyView.of(row)
            await uow.commit()
        return NewApiKey(view, key)

    async def list(self) -> list[ApiKeyView]:
        """Every key, the active ones first, by name."""
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(select(ApiKey).order_by(ApiKey.name))
            views = [ApiKeyView.of(row) for row in rows]
        return sorted(views, key=lambda view: (not view.active, view.name))

    async def revoke(self, name: str) -> ApiKeyView | None:
        """Revoke the key named ``name`` at once; None if there is no such active key."""
        now = self.clock()
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(ApiKey).where(ApiKey.name == clean(name), ApiKey.revoked_at.is_(None))
            )
            if row is None:
                return None
            row.revoked_at = now
            await uow.session.flush()
            view = ApiKeyView.of(row)
            await uow.commit()
        return view

    async def authenticate(self, key: str) -> ApiKeyView | None:
        """The active key this is, or None (unknown, malformed, revoked: all alike)."""
        match = _KEY.fullmatch(key.strip())
        if match is None:
            return None
        now = self.clock()
        async with self.db.uow() as uow:
            row = await uow.session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
            if row is None or not hmac.compare_digest(row.key_hash, hash_key(key.strip())):
                return None
            if row.revoked_at is not None:
                return None
            view = ApiKeyView.of(row)
            if row.last_used_at is None or now - row.last_used_at >= _USED_EVERY:
                await uow.session.execute(
                    update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now)
                )
                await uow.commit()
        return view
