"""Requests to the Bot API that survive a hiccup: bounded retries with backoff.

Telegram has bad moments: its front end answers 502 while a server restarts, the Bot API
answers 500, a connection cannot be opened or drops. Without a retry the reply being sent
at that moment is lost. ``RetryingRequest`` is python-telegram-bot's own HTTPXRequest
that tries such a request again, a few times, waiting longer each time (0.5, 1, 2, 4 s
by default: about 7.5 s in all), then gives up with the error the caller would have had.
Flood control (429) is not handled here: it belongs to the rate limiter, above.

Which failures are retried, and why
-----------------------------------
A retry must not make a customer get the same message twice, so what counts is whether
the failed request may have been carried out.

* It never reached Telegram (the connection could not be opened, or no connection of the
  pool became free): retried, whatever the method.
* Telegram answered with a server error (5xx): retried, whatever the method. An answer
  is Telegram's word that the method failed. A 502 or 504 from its front end could in
  rare cases follow a send that did go through; the customer then reads the reply twice,
  which is better than never.
* It was sent and no answer came (the answer timed out, the connection dropped): the
  method may have been carried out. Retried only where doing it again changes nothing:
  reading (``get...``), settings (commands, webhook, descriptions) and chat actions.
  A message is not sent again (it could arrive twice), and an edit, a deletion or a
  button's answer is not repeated (done once already, the second answer would be an
  error); the error reaches the caller as before. The outbox dispatcher has its own,
  durable retries for the messages it sends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger("carebot.bot")

# The failures that show the request never left: nothing can have been carried out.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Methods (besides every get...) that may be carried out twice with no more effect than once.
REPEATABLE = frozenset(
    name.lower()
    for name in (
        "setMyCommands",
        "deleteMyCommands",
        "setWebhook",
        "deleteWebhook",
        "setChatMenuButton",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "sendChatAction",
    )
)


def repeatable(method: str) -> bool:
    """True if carrying out ``method`` twice does no more than carrying it out once."""
    name = method.lower()
    return name.startswith("get") or name in REPEATABLE


def may_retry(method: str, error: NetworkError) -> bool:
    """Whether a request that failed with ``error`` (no answer) may be made again."""
    return isinstance(error.__cause__, NOT_SENT) or repeatable(method)


class RetryingRequest(HTTPXRequest):
    """HTTPXRequest that retries a request failed by a server error or the network.

    ``attempts`` counts the first one; the n-th retry waits ``first_delay * 2**(n-1)``
    seconds, at most ``max_delay``.
    """

    def __init__(
        self,
        *,
        attempts: int = 5,
        first_delay: float = 0.5,
        max_delay: float = 4.0,
        **kwargs: Any,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts counts the first one: at least 1")
        super().__init__(**kwargs)
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th attempt failed."""
        return min(self.first_delay * 2 ** (attempt - 1), self.max_delay)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        attempt = 1
        while True:
            try:
                code, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except NetworkError as error:  # TimedOut included
                if attempt >= self.attempts or not may_retry(api_method, error):
                    raise
                problem = str(error)
            else:
                if code < 500 or attempt >= self.attempts:
                    return code, payload
                problem = f"HTTP {code}"
            wait = self.delay(attempt)
            attempt += 1
            log.warning(
                "%s failed (%s): attempt %d of %d in %.2f s",
                api_method,
                problem,
                attempt,
                self.attempts,
                wait,
            )
            await asyncio.sleep(wait)
