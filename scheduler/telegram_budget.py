"""One Telegram budget per bot token and process: conversations first, bulk messages after.

Telegram lets a bot send about 30 messages a second in all, about one a second to one chat
(a short burst of a few is tolerated) and 20 a minute to one group; above that it answers
429 "retry after N". Everything a process sends with the token counts against the same
limits: the replies handlers give customers and staff, and what the outbox dispatcher
sends for campaigns and the care programme. Two pacers side by side (python-telegram-bot's
AIORateLimiter for the replies, a bucket of the dispatcher's own for the outbox) each kept
their own share under the limit, and together went over it: Telegram answered 429 and the
campaign slowed down.

So one ``TelegramBudget`` paces them all. It is the rate limiter of the Application's bot
(a ``BaseRateLimiter``, so every ``reply_text`` of a handler passes through it), and the
dispatcher's Telegram channel (``scheduler.telegram_channel``) takes its slots from the very
same object with ``acquire(chat_id, bulk=True)`` before it hands a message over, then sends
it with ``rate_limit_args=PACED`` so the request is not paced twice.

How a slot is given
-------------------
Slots come from one timeline at ``rate`` a second (virtual scheduling, as in GCRA; see
``_grant``). Who gets the next slot is decided when it comes: a conversation's request (a
reply, a message to the staff chat, the edit after a button press) before any bulk one,
the oldest first within each class, skipping a request whose chat has had its share of the
last seconds (then the next one goes). A customer therefore waits at most one interval
(36 ms at 27.5/s) behind a campaign, and the campaign gets every slot the conversations
leave. Only requests that put a message into a chat are counted (send*, edit*, copy*,
forward*; not typing indicators, callback answers or reads), as Telegram does.

Per chat, at most ``chat_burst`` messages in any ``chat_burst / chat_rate`` seconds (three
in three seconds), and per group ``group_per_minute`` in any minute, each window lengthened
by ``margin`` so that the network's jitter between our clock and Telegram's cannot make two
messages look closer there than they were here.

A 429 that still comes pauses the whole budget for the time Telegram asked: a
conversation's request is then tried again (``max_retries`` times), a bulk one is handed
back to the dispatcher, which puts its row back for later.

This budget covers one process. A second process with the same token (``carebot campaign
send`` in a shell while ``carebot run`` runs) would bring a budget of its own; that command
therefore hands its sending to the running process (see ``scheduler.dispatcher.dispatcher_lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger("carebot.telegram_budget")

PACED = "paced"
"""``rate_limit_args`` of a request whose slot was taken with ``acquire`` beforehand."""

DEFAULT_RATE = 27.5  # messages a second; Telegram allows about 30 (see care.core.settings)
COUNTED_PREFIXES = ("send", "edit", "copy", "forward")  # endpoints that write into a chat
NOT_COUNTED = frozenset({"sendchataction"})

Chat = int | str  # a chat id, or a channel's or supergroup's @username

Callback = Callable[..., Coroutine[Any, Any, Any]]


def counted_chat(endpoint: str, data: dict[str, Any]) -> Chat | None:
    """The chat a request writes a message into, or None if Telegram does not count it."""
    name = endpoint.lower()
    if name in NOT_COUNTED or not name.startswith(COUNTED_PREFIXES):
        return None
    chat = data.get("chat_id")
    if chat is None:  # an inline message's edit: no chat of ours to count
        return None
    with contextlib.suppress(TypeError, ValueError):
        return int(chat)
    return str(chat)


def is_group(chat: Chat) -> bool:
    """Groups, supergroups and channels: negative ids, or an @username."""
    return isinstance(chat, str) or chat < 0


def retry_seconds(exc: RetryAfter) -> float:
    """What Telegram asked to wait, in seconds."""
    with warnings.catch_warnings():  # PTB 22 warns while retry_after may still be an int
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Window:
    """Times of the messages in the last ``seconds``; at most ``size`` of them."""

    __slots__ = ("_times", "seconds", "size")

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more message fits (0: now)."""
        times = self._times
        while times and now - times[0] >= self.seconds:
            times.popleft()
        if len(times) < self.size:
            return 0.0
        return times[-self.size] + self.seconds - now

    def add(self, now: float) -> None:
        self._times.append(now)

    def idle(self, now: float) -> bool:
        return not self._times or now - self._times[-1] >= self.seconds


@dataclass(eq=False)
class _Waiter:
    chat: Chat | None
    granted: asyncio.Future[None] = field(repr=False)


class TelegramBudget(BaseRateLimiter[str]):
    """The slots of one bot token in one process, conversations first (see the module)."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        chat_burst: int = 3,
        chat_rate: float = 1.0,
        group_per_minute: int = 20,
        margin: float = 0.25,
        max_retries: int = 3,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.chat_burst = chat_burst
        self.chat_seconds = chat_burst / chat_rate + margin
        self.group_per_minute = group_per_minute
        self.group_seconds = 60.0 + margin
        self.max_retries = max_retries
        self.granted = {"prompt": 0, "bulk": 0}  # slots given so far, by class
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._prompt: list[_Waiter] = []
        self._bulk: list[_Waiter] = []
        self._chats: dict[Chat, _Window] = {}
        self._groups: dict[Chat, _Window] = {}
        self._arrived: asyncio.Event | None = None
        self._granting: asyncio.Task[None] | None = None

    # --- python-telegram-bot's rate limiter interface ------------------------------------

    async def initialize(self) -> None:
        """Nothing to set up: the timeline starts with the first request."""

    async def shutdown(self) -> None:
        """Give up the slot-granting task; requests still waiting are cancelled."""
        task, self._granting = self._granting, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiter in (*self._prompt, *self._bulk):
            waiter.granted.cancel()
        self._prompt.clear()
        self._bulk.clear()

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Any:
        """Send one request within the budget: a conversation's takes the next free slot
        (and is tried again after a 429); a ``PACED`` one has its slot already."""
        chat = counted_chat(endpoint, data)
        if chat is None:
            return await callback(*args, **kwargs)
        paced = rate_limit_args == PACED
        for attempt in range(self.max_retries + 1):
            if not paced:
                await self.acquire(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.pause(seconds)
                if paced or attempt == self.max_retries:
                    raise
                log.warning("Telegram asked to wait %.1f s (%s); trying again", seconds, endpoint)
        raise AssertionError("unreachable")  # the loop returns or raises

    # --- the budget ------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Give no slot for ``seconds`` (Telegram answered 429: retry after)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def chat_wait(self, chat: Chat) -> float:
        """Seconds until ``chat`` may get another message (0: now)."""
        now = time.monotonic()
        window = self._chats.get(chat)
        wait = window.wait(now) if window is not None else 0.0
        group = self._groups.get(chat)
        if group is not None:
            wait = max(wait, group.wait(now))
        return wait

    async def acquire(self, chat: Chat | None, *, bulk: bool = False) -> None:
        """Wait for a slot for one message to ``chat``, and count it.

        ``bulk``: a campaign's or the care programme's message, which gives way to every
        conversation's request waiting at the same time.
        """
        now = time.monotonic()
        if (
            not self._prompt
            and not self._bulk
            and now >= max(self._next_slot, self._paused_until)
            and (chat is None or self.chat_wait(chat) == 0.0)
        ):
            self._grant(chat, bulk, now)  # nobody waits and the slot is free: no task switch
            return
        waiter = _Waiter(chat, asyncio.get_running_loop().create_future())
        (self._bulk if bulk else self._prompt).append(waiter)
        if self._arrived is None:
            self._arrived = asyncio.Event()
        self._arrived.set()
        if self._granting is None or self._granting.done():
            self._granting = asyncio.create_task(self._grant_slots(), name="telegram-budget")
        await waiter.granted  # a cancelled caller cancels its future: it is skipped

    async def _grant_slots(self) -> None:
        """Give each slot, when it comes, to the first request that may have it."""
        arrived = self._arrived
        assert arrived is not None
        while self._prompt or self._bulk:
            now = time.monotonic()
            free_at = max(self._next_slot, self._paused_until)
            if now < free_at:
                await asyncio.sleep(free_at - now)
                continue
            chosen, chat_wait = self._first_ready(now)
            if chosen is None:  # every chat waited for is at its limit: wait for the first
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), chat_wait)
                continue
            queue, waiter = chosen
            queue.remove(waiter)
            self._grant(waiter.chat, queue is self._bulk, now)
            waiter.granted.set_result(None)

    def _first_ready(self, now: float) -> tuple[tuple[list[_Waiter], _Waiter] | None, float]:
        """The request that gets the slot now (conversations first, oldest first, chat not
        at its limit), or None and the seconds until one could."""
        soonest = 1.0
        for queue in (self._prompt, self._bulk):
            for waiter in list(queue):
                if waiter.granted.done():  # its caller gave up
                    queue.remove(waiter)
                    continue
                wait = 0.0 if waiter.chat is None else self.chat_wait(waiter.chat)
                if wait == 0.0:
                    return (queue, waiter), 0.0
                soonest = min(soonest, wait)
        return None, soonest

    def _grant(self, chat: Chat | None, bulk: bool, now: float) -> None:
        """Book the slot at ``now`` on the timeline and in the chat's windows.

        The slot is the timeline's next one, not ``now``: a wake-up a millisecond late then
        costs nothing. Up to a quarter of an interval of lateness is made up, no more, so
        two slots are never closer than three quarters of an interval and no second holds
        more than ``rate + 1`` of them: the margin that keeps 27.5/s under Telegram's 30.
        """
        slot = max(self._next_slot, now - self.interval / 4)
        self._next_slot = slot + self.interval
        self.granted["bulk" if bulk else "prompt"] += 1
        if chat is None:
            return
        window = self._chats.get(chat)
        if window is None:
            if len(self._chats) > 20_000:
                self._forget_idle(now)
            window = self._chats[chat] = _Window(self.chat_burst, self.chat_seconds)
        window.add(now)
        if is_group(chat):
            group = self._groups.get(chat)
            if group is None:
                group = self._groups[chat] = _Window(self.group_per_minute, self.group_seconds)
            group.add(now)

    def _forget_idle(self, now: float) -> None:
        """Drop the windows of chats whose last message left them long enough ago."""
        self._chats = {chat: w for chat, w in self._chats.items() if not w.idle(now)}
        self._groups = {chat: w for chat, w in self._groups.items() if not w.idle(now)}


def budget_of(bot: Any) -> TelegramBudget | None:
    """The budget a bot (an Application's ``ExtBot``) sends through, if it has one."""
    limiter = getattr(bot, "rate_limiter", None)
    return limiter if isinstance(limiter, TelegramBudget) else None
