"""Telegram's side of a webhook: each pending update POSTed to the bot's URL, in order.

Once setWebhook has given a URL, the sandbox delivers updates the way Telegram does: a
JSON POST per update carrying ``X-Telegram-Bot-Api-Secret-Token`` when a secret token was
set, the update dropped from the queue only when the answer is a 2xx, otherwise kept and
tried again after a pause, with the failure shown by getWebhookInfo (``last_error_*``).
One update at a time keeps the order tests rely on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from bot.sandbox.world import World

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
RETRY_FIRST, RETRY_MAX = 0.05, 1.0  # seconds between attempts at a refused update
STOP: dict[str, Any] = {"stop": True}


class WebhookDelivery:
    """Runs while the sandbox runs; delivers only while a webhook is set."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.attempts = 0  # POSTs made, answered or not
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        self._stopping = True
        self.world.changed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            pause = RETRY_FIRST
            while not self._stopping:
                update = await self.world.wait_until(self._next, 3600)
                if update is None or update is STOP:
                    continue
                if await self._deliver(session, update):
                    pause = RETRY_FIRST
                    if self.world.updates and self.world.updates[0] is update:
                        self.world.updates.pop(0)
                    self.world.changed()
                else:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_MAX)

    def _next(self) -> dict[str, Any] | None:
        """The update to deliver now; STOP (truthy, so the wait ends) once stopping."""
        world = self.world
        if self._stopping:
            return STOP
        if not world.webhook_url or not world.updates:
            return None
        return world.updates[0]

    async def _deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
        world = self.world
        headers = {SECRET_HEADER: world.webhook_secret} if world.webhook_secret else {}
        self.attempts += 1
        try:
            async with session.post(world.webhook_url, json=update, headers=headers) as answer:
                if 200 <= answer.status < 300:
                    return True
                error = f"Wrong response from the webhook: {answer.status} {answer.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        world.webhook_last_error = (int(time.time()), error)
        log.info("webhook delivery of update %s failed: %s", update.get("update_id"), error)
        return False
