"""Outgoing webhooks: an integrator's URL told of what happens here.

A subscription names a URL and the events it wants: ``ticket.created``,
``ticket.resolved``, ``survey.answered``, ``customer.erased``. The cause's transaction
queues one outbox row per subscription (``Outbox.to_webhooks``); the dispatcher POSTs it
with an HMAC-SHA256 signature, retries on errors with the outbox's backoff, and every
attempt lands in the delivery log (``webhook_deliveries``).

Signature: ``X-CareBot-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the subscription's secret, shown once when subscribing. A receiver recomputes
it over the raw body and refuses old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from care.core.db import Database
from care.core.models import WebhookDelivery, WebhookSubscription
from care.core.text import clean

EVENTS = ("ticket.created", "ticket.resolved", "survey.answered", "customer.erased")
SIGNATURE_HEADER = "X-CareBot-Signature"


class WebhookError(ValueError):
    """A URL or event list that cannot be subscribed; the message says why."""


@dataclass(frozen=True)
class WebhookView:
    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookSubscription) -> WebhookView:
        return cls(row.id, row.url, tuple(row.events or ()), row.active, row.created_at)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "url": self.url, "events": list(self.events), "active": self.active}


@dataclass(frozen=True)
class NewWebhook:
    view: WebhookView
    secret: str  # shown once


@dataclass(frozen=True)
class DeliveryView:
    id: int
    subscription_id: int | None
    event: str
    url: str
    status_code: int | None
    error: str | None
    milliseconds: int
    delivered: bool
    created_at: datetime


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (and what the tests do): recompute and compare."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit():
        return False
    return hmac.compare_digest(sign(secret, int(parts["t"]), body), header)


def parse_events(events: str | Iterable[str]) -> tuple[str, ...]:
    items = events.split(",") if isinstance(events, str) else list(events)
    wanted = {clean(str(item)) for item in items if clean(str(item))}
    unknown = sorted(wanted - set(EVENTS))
    if unknown:
        raise WebhookError(
            f"unknown event {', '.join(unknown)}; the events are {', '.join(EVENTS)}"
        )
    if not wanted:
        raise WebhookError(f"give at least one event: {', '.join(EVENTS)}")
    return tuple(event for event in EVENTS if event in wanted)


def check_url(url: str) -> str:
    url = clean(url)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
        raise WebhookError(f"'{url[:100]}' is not an http(s) URL of at most 500 characters")
    return url


class Webhooks:
    """Subscribe, list, end subscriptions; read the delivery log (CLI, API, console)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    async def subscribe(self, url: str, events: str | Iterable[str]) -> NewWebhook:
        checked, wanted = check_url(url), parse_events(events)
        secret = "whsec_" + secrets.token_urlsafe(32)
        async with self.db.uow() as uow:
            row = WebhookSubscription(
                url=checked, events=list(wanted), secret=secret, created_at=self.clock()
            )
            uow.session.add(row)
            await uow.session.flush()
            view = WebhookView.of(row)
            await uow.commit()
        return NewWebhook(view, secret)

    async def subscriptions(self) -> list[WebhookView]:
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(WebhookSubscription).order_by(WebhookSubscription.id)
            )
            return [WebhookView.of(row) for row in rows]

    async def end(self, subscription_id: int) -> bool:
        """End a subscription: nothing more is queued for it, and what waits is not sent."""
        async with self.db.uow() as uow:
            row = await uow.session.get(WebhookSubscription, subscription_id)
            if row is None or not row.active:
                return False
            row.active = False
            await uow.commit()
        return True

    async def secrets(self, ids: Iterable[int]) -> dict[int, str]:
        """The signing secrets of the active subscriptions among ``ids``."""
        async with self.db.uow() as uow:
            rows = await uow.session.execute(
                select(WebhookSubscription.id, WebhookSubscription.secret).where(
                    WebhookSubscription.id.in_(list(ids)), WebhookSubscription.active.is_(True)
                )
            )
            return {int(id_): str(secret) for id_, secret in rows}

    async def log(
        self,
        *,
        subscription_id: int | None,
        outbox_id: int,
        event: str,
        url: str,
        status_code: int | None,
        error: str | None,
        milliseconds: int,
        delivered: bool,
    ) -> None:
        async with self.db.uow() as uow:
            uow.session.add(
                WebhookDelivery(
                    subscription_id=subscription_id,
                    outbox_id=outbox_id,
                    event=event,
                    url=url,
                    status_code=status_code,
                    error=error[:2000] if error else None,
                    milliseconds=milliseconds,
                    delivered=delivered,
                    created_at=self.clock(),
                )
            )
            await uow.commit()

    async def deliveries(
        self, *, subscription_id: int | None = None, limit: int = 50
    ) -> list[DeliveryView]:
        """The latest delivery attempts, newest first."""
        query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
        if subscription_id is not None:
            query = query.where(WebhookDelivery.subscription_id == subscription_id)
        async with self.db.uow() as uow:
            return [
                DeliveryView(
                    d.id,
                    d.subscription_id,
                    d.event,
                    d.url,
                    d.status_code,
                    d.error,
                    d.milliseconds,
                    d.delivered,
                    d.created_at,
                )
                for d in await uow.session.scalars(query)
            ]
