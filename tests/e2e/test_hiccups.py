"""Telegram having a bad moment: nothing the bot promised is lost.

The sandbox answers 500 (or its front end 502) for a while; the bot tries again, and what
it could not deliver at once (a ticket's staff card, the ticket code) is delivered later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "demo_faq.yaml"
OPENING_HOURS = "Các cửa hàng mở cửa từ 8:00 đến 21:30"


@pytest.fixture
async def faq_bot(bot):
    report = await bot.services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return bot


async def test_a_customers_faq_answer_arrives_although_telegram_answered_500_for_a_while(faq_bot):
    lan = faq_bot.customer("Lan")
    spell = faq_bot.sandbox.fail_requests(seconds=1.5, methods=["sendMessage"])

    answer = await lan.says("Cửa hàng mở cửa lúc mấy giờ?", timeout=10)

    assert OPENING_HOURS in answer.text
    assert spell.hits >= 2  # the answer was refused, and tried again
    assert len(lan.messages) == 1  # once, and no apology


async def test_a_spell_of_502_pages_on_every_method_delays_the_answer_but_loses_nothing(faq_bot):
    lan = faq_bot.customer("Lan")
    mark = faq_bot.sandbox.mark()
    faq_bot.sandbox.send_text(lan.user, "cua hang mo cua luc may gio")
    spell = faq_bot.sandbox.fail_requests(seconds=1.5, status=502)

    answer = await faq_bot.sandbox.wait_for(lan.id, after=mark, timeout=15)

    assert OPENING_HOURS in answer.text
    assert spell.hits >= 1
    await faq_bot.sandbox.wait_idle()
    assert len(lan.messages) == 1
