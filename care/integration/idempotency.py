"""Idempotency-Key: a retried request gets the first response instead of acting twice.

A system that lost the answer to a request (a timeout, a dropped connection) sends it
again with the same ``Idempotency-Key``; for a day (``api_idempotency_hours``) it gets the
response the first request got, and nothing is done again. The same key sent with a
different request is a mistake of the caller, and is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from care.core.db import Database
from care.core.models import ApiIdempotency

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    same_request: bool  # False: the key was used for another request


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, db: Database, clock: Callable[[], datetime], hours: float) -> None:
        self.db = db
        self.clock = clock
        self.keep = timedelta(hours=hours)

    async def find(self, api_key_id: int, key: str, fingerprint: str) -> StoredResponse | None:
        """The response stored for this key within the day, or None."""
        since = self.clock() - self.keep
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(ApiIdempotency).where(
                    ApiIdempotency.api_key_id == api_key_id,
                    ApiIdempotency.key == key,
                    ApiIdempotency.created_at > since,
                )
            )
            if row is None:
                return None
            return StoredResponse(row.status_code, row.body, row.request_hash == fingerprint)

    async def store(
        self, api_key_id: int, key: str, fingerprint: str, status_code: int, body: str
    ) -> None:
        """Keep a response; expired ones of the key go first. A concurrent twin that
        stored first wins."""
        now = self.clock()
        async with self.db.uow() as uow:
            await uow.session.execute(
                delete(ApiIdempotency).where(
                    ApiIdempotency.api_key_id == api_key_id,
                    ApiIdempotency.key == key,
                    ApiIdempotency.created_at <= now - self.keep,
                )
            )
            uow.session.add(
                ApiIdempotency(
                    api_key_id=api_key_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status_code,
                    body=body,
                    created_at=now,
                )
            )
            try:
                await uow.commit()
            except IntegrityError:
                await uow.rollback()

    async def purge(self) -> int:
        """Forget the responses older than the day (the nightly clean-up)."""
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                delete(ApiIdempotency).where(ApiIdempotency.created_at <= self.clock() - self.keep)
            )
            await uow.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
