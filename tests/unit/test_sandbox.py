"""The sandbox's flood control: Telegram's limits per chat, per group and overall."""

from __future__ import annotations

from bot.sandbox import Limits
from bot.sandbox.limits import FloodControl

LAN = 1001
STAFF = -1001000


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_takes_a_burst_of_three_then_one_a_second() -> None:
    clock = FakeClock()
    flood = FloodControl(Limits(), clock)
    for _ in range(3):
        assert flood.retry_after(LAN, is_group=False) == 0
        flood.record(LAN, is_group=False)
    assert flood.retry_after(LAN, is_group=False) == 3
    clock.now += 3.0
    flood.record(LAN, is_group=False)
    clock.now += 1.0
    assert flood.retry_after(LAN, is_group=False) == 0


def test_a_group_takes_twenty_messages_a_minute() -> None:
    clock = FakeClock()
    flood = FloodControl(Limits(), clock)
    for _ in range(20):
        clock.now += 1.0
        assert flood.retry_after(STAFF, is_group=True) == 0
        flood.record(STAFF, is_group=True)
    clock.now += 1.0
    assert flood.retry_after(STAFF, is_group=True) == 40  # the first leaves the minute at 61 s
    clock.now += 40.0
    assert flood.retry_after(STAFF, is_group=True) == 0


def test_thirty_messages_a_second_overall() -> None:
    clock = FakeClock()
    flood = FloodControl(Limits(), clock)
    for chat_id in range(30):
        flood.record(chat_id, is_group=False)
    assert flood.retry_after(99, is_group=False) == 1
    clock.now += 1.0
    assert flood.retry_after(99, is_group=False) == 0
