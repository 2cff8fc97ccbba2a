"""Flood control with Telegram's published limits.

Telegram answers 429 "Too Many Requests: retry after N" when a bot sends more than about
30 messages a second overall, more than about one a second to one chat (a short burst is
tolerated) or more than 20 a minute to one group. The sandbox enforces the same limits with
sliding windows on a monotonic clock, so a bot that would be throttled in production is
throttled in tests and benchmarks too.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The limits one sandbox enforces; ``Limits(enabled=False)`` turns them all off."""

    global_per_second: int = 30
    per_chat_burst: int = 3
    per_chat_per_second: float = 1.0
    group_per_minute: int = 20
    enabled: bool = True


class SlidingWindow:
    """At most ``size`` events in any interval of ``seconds``."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._events: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        while self._events and now - self._events[0] >= self.seconds:
            self._events.popleft()
        if len(self._events) < self.size:
            return 0.0
        return self._events[-self.size] + self.seconds - now

    def add(self, now: float) -> None:
        self._events.append(now)


class FloodControl:
    """Decides whether a message to a chat may go now, as Telegram would.

    A chat may take ``per_chat_burst`` messages at once and then about
    ``per_chat_per_second``: at most ``burst`` messages in any ``burst / rate`` seconds.
    Groups are limited by that and by ``group_per_minute``.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._global = SlidingWindow(limits.global_per_second, 1.0)
        self._chats: dict[int, SlidingWindow] = {}
        self._groups: dict[int, SlidingWindow] = {}

    def retry_after(self, chat_id: int, is_group: bool) -> int:
        """Whole seconds to wait before this message may go, at least 1; 0 if it may go now."""
        if not self.limits.enabled:
            return 0
        now = self._clock()
        wait = max(window.wait(now) for window in self._windows(chat_id, is_group))
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def record(self, chat_id: int, is_group: bool) -> None:
        """Count a message that was sent."""
        if not self.limits.enabled:
            return
        now = self._clock()
        for window in self._windows(chat_id, is_group):
            window.add(now)

    def _windows(self, chat_id: int, is_group: bool) -> list[SlidingWindow]:
        limits = self.limits
        if chat_id not in self._chats:
            seconds = limits.per_chat_burst / limits.per_chat_per_second
            self._chats[chat_id] = SlidingWindow(limits.per_chat_burst, seconds)
        windows = [self._global, self._chats[chat_id]]
        if is_group:
            if chat_id not in self._groups:
                self._groups[chat_id] = SlidingWindow(limits.group_per_minute, 60.0)
            windows.append(self._groups[chat_id])
        return windows
