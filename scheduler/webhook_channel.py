"""The webhook channel: POSTs an outbox row's JSON to an integrator's URL, signed.

Headers: ``Content-Type: application/json``, ``X-CareBot-Event``, ``X-CareBot-Delivery``
(the row's idempotency key: the same event retried carries the same id, so a receiver
can drop a repeat) and ``X-CareBot-Signature`` (see ``care.integration.webhooks``).
A 2xx is delivered; a timeout, a network error, 408, 429 or 5xx is tried again later
(the outbox's backoff); another 4xx, or a subscription ended meanwhile, is final. Each
attempt is written to the delivery log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import aiohttp

from care.integration import SIGNATURE_HEADER, Webhooks, sign
from care.outreach import Delivered, OutboxRow, RetryLater, Undeliverable, webhook_subscription_of

RETRIED_STATUSES = {408, 425, 429}


class WebhookChannel:
    def __init__(
        self, webhooks: Webhooks, *, timeout: float, clock: Callable[[], datetime]
    ) -> None:
        self.webhooks = webhooks
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, row: OutboxRow) -> Delivered | RetryLater | Undeliverable:
        subscription_id = webhook_subscription_of(row.idempotency_key)
        secret = (await self.webhooks.secrets([subscription_id])).get(subscription_id or 0)
        if secret is None:
            outcome: Delivered | RetryLater | Undeliverable = Undeliverable(
                "the subscription was ended", reason="subscription_ended"
            )
            await self._log(row, subscription_id, None, outcome.error, 0, False)
            return outcome
        body = row.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CareBot-Webhooks/1",
            "X-CareBot-Event": row.template,
            "X-CareBot-Delivery": row.idempotency_key,
            SIGNATURE_HEADER: sign(secret, int(self.clock().timestamp()), body),
        }
        started = time.monotonic()
        status: int | None = None
        try:
            async with self._client().post(
                row.recipient, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            outcome = RetryLater(f"{type(exc).__name__}: {exc}"[:500])
        else:
            if 200 <= status < 300:
                outcome = Delivered(str(status))
            elif status in RETRIED_STATUSES or status >= 500:
                outcome = RetryLater(f"HTTP {status}")
            else:
                outcome = Undeliverable(f"HTTP {status}", reason="refused")
        milliseconds = int((time.monotonic() - started) * 1000)
        error = None if isinstance(outcome, Delivered) else outcome.error
        await self._log(
            row, subscription_id, status, error, milliseconds, isinstance(outcome, Delivered)
        )
        return outcome

    async def _log(
        self,
        row: OutboxRow,
        subscription_id: int | None,
        status: int | None,
        error: str | None,
        milliseconds: int,
        delivered: bool,
    ) -> None:
        await self.webhooks.log(
            subscription_id=subscription_id,
            outbox_id=row.id,
            event=row.template,
            url=row.recipient,
            status_code=status,
            error=error,
            milliseconds=milliseconds,
            delivered=delivered,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
