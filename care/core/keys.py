"""The secrets CareBot signs and authenticates with: configured, or generated once and kept.

One key signs everything signed (unsubscribe links now; console sessions and login links
later): CAREBOT_SECRET_KEY, or when it is unset a key generated on the first start and
kept in the database (table ``stored_secrets``). A shop therefore configures nothing, and
links keep working when the bot token changes or the database moves to another address.

Rotation: set a new CAREBOT_SECRET_KEY and list the old one in CAREBOT_SECRET_KEY_PREVIOUS.
The newest key signs; every key verifies, so links already sent keep working. A generated
key replaced by a configured one keeps verifying for the same reason (deleting its row
ends that). Keys are separated by purpose (itsdangerous' salt), so a token made for one
use is never accepted for another.

The webhook's secret token is kept the same way: CAREBOT_WEBHOOK_SECRET, or one generated
once and stored, so a restart does not need a new setWebhook to agree with the server.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from itsdangerous import Signer
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from care.core.db import Database
from care.core.models import StoredSecret
from care.core.settings import Settings
from care.core.text import utcnow

SIGNING_KEY = "secret_key"
WEBHOOK_SECRET = "webhook_secret"  # noqa: S105 - the stored row's name, not a secret


class KeysNotLoaded(RuntimeError):
    """Signing was asked for before ``Keys.load`` (``Services.start`` calls it)."""


class Keys:
    """The signing keys (oldest first, the newest signs) and the webhook's secret token."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._keys: list[bytes] | None = None

    async def load(self) -> None:
        """Read the keys; generate and store the signing key if none is configured."""
        configured = self.settings.secret_key
        stored = await self._stored(SIGNING_KEY, create=configured is None)
        older = [key.get_secret_value() for key in self.settings.secret_key_previous]
        if configured is not None and stored is not None:
            older.append(stored)  # the key used before one was configured
        current = configured.get_secret_value() if configured is not None else stored
        assert current is not None  # created above when not configured
        keys: list[str] = []
        for key in [*older, current]:
            if key in keys:
                keys.remove(key)
            keys.append(key)
        self._keys = [key.encode() for key in keys]

    def detached(self) -> Keys:
        """A copy that signs and verifies without the database, for a worker process
        (the keys must be loaded: it cannot read them there)."""
        if self._keys is None:
            raise KeysNotLoaded("the signing keys are not loaded: start the services first")
        copy = Keys(self.settings, None)  # type: ignore[arg-type]
        copy._keys = list(self._keys)
        return copy

    @property
    def loaded(self) -> bool:
        return self._keys is not None

    def signer(self, purpose: str) -> Signer:
        """Signs with the newest key, verifies with any, for one purpose only."""
        if self._keys is None:
            raise KeysNotLoaded("the signing keys are not loaded: start the services first")
        return Signer(
            self._keys,
            salt=f"carebot.{purpose}",
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    async def webhook_secret(self) -> str:
        """The token Telegram sends with every webhook request (configured or stored)."""
        if self.settings.webhook_secret is not None:
            return self.settings.webhook_secret.get_secret_value()
        value = await self._stored(WEBHOOK_SECRET, create=True)
        assert value is not None
        return value

    async def _stored(self, name: str, *, create: bool) -> str | None:
        """The stored secret ``name``; made now if ``create`` and there is none.

        Two processes starting at once (the bot and a CLI command) may both try to make
        it: the insert ignores a row already there and both read the one that won.
        """
        async with self.db.uow() as uow:
            value = await uow.session.scalar(
                select(StoredSecret.value).where(StoredSecret.name == name)
            )
            if value is not None or not create:
                return value
            insert: Any = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
            await uow.session.execute(
                insert(StoredSecret)
                .values(name=name, value=secrets.token_urlsafe(32), created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            await uow.commit()
            return await uow.session.scalar(
                select(StoredSecret.value).where(StoredSecret.name == name)
            )
