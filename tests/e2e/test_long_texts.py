"""Texts longer than Telegram takes: a ticket's history, /ticket, a long photo caption and a
long staff answer arrive in pages that each parse (the sandbox refuses what Telegram
would), with nothing refused for its length."""

from __future__ import annotations

import pytest

from bot.sandbox.html_check import utf16_len
from care.tickets.complaints import Draft
from tests.builders import make_customer

pytestmark = pytest.mark.e2e

LINES = 30
LINE = "giao trễ, hộp móp & trầy <nặng>, "  # escaped by the templates: &amp; &lt; &gt;


async def ticket_with_a_long_history(bot):
    """A customer's ticket with thirty long messages on it (about 10,000 characters)."""
    lan = bot.customer("Lan")
    await make_customer(bot.services, name="Nguyễn Thị Lan", telegram_user_id=lan.id)
    ticket = await bot.services.complaints.file(lan.id, Draft("delivery", "high", "Giao trễ"))
    for n in range(LINES):
        await bot.services.complaints.customer_message(lan.id, f"Tin {n:02d}: " + LINE * 8)
    return lan, ticket


async def pages_replying_to(bot, message_id):
    """The staff-chat messages replying to ``message_id``, once the last line has come (the
    group's flood limit spaces them out)."""
    last = f"Tin {LINES - 1:02d}"
    await bot.sandbox.wait_for(
        bot.staff_chat,
        lambda m: m.reply_to_message_id == message_id and last in m.text,
        timeout=15,
    )
    return [m for m in bot.sandbox.sent(bot.staff_chat) if m.reply_to_message_id == message_id]


def assert_whole_history(pages, ticket):
    assert len(pages) >= 2
    assert ticket.code in pages[0].text
    for page in pages:
        assert utf16_len(page.text) <= 4096
        assert page.parse_mode == "HTML"
    said = "\n".join(page.text for page in pages)
    for n in range(LINES):
        assert said.count(f"Tin {n:02d}: giao trễ, hộp móp & trầy <nặng>") == 1
    assert "Lịch sử" in said


async def test_ticket_with_a_long_history_arrives_in_pages(bot):
    _, ticket = await ticket_with_a_long_history(bot)
    minh = await bot.staff_member("Minh")

    command = bot.sandbox.send_text(minh.user, f"/ticket {ticket.code}", chat_id=bot.staff_chat)

    pages = await pages_replying_to(bot, command["message_id"])
    assert_whole_history(pages, ticket)
    assert not any("Xin lỗi" in m.text for m in bot.sandbox.sent(bot.staff_chat))


async def test_the_details_button_shows_a_long_history_in_pages_under_the_card(bot):
    _, ticket = await ticket_with_a_long_history(bot)
    minh = await bot.staff_member("Minh")
    assert await bot.application.bot_data["ticket_cards"].sweep()  # its card, as the bot would
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)

    await minh.presses(f"ticket:details:{ticket.id}", card)

    assert_whole_history(await pages_replying_to(bot, card.message_id), ticket)


async def test_a_long_caption_on_a_customers_photo_is_shortened_and_the_rest_follows(bot):
    lan = bot.customer("Lan")
    await make_customer(bot.services, name="Nguyễn Thị Lan", telegram_user_id=lan.id)
    await bot.services.complaints.file(lan.id, Draft("product_quality", "low", "Trầy"))
    caption = " ".join(f"chi tiết {n} trên vỏ hộp" for n in range(60))  # about 1,300 chars

    bot.sandbox.send_photo(lan.user, caption=caption)

    photo = await bot.sandbox.wait_for(bot.staff_chat, lambda m: m.photo is not None)
    rest = await bot.sandbox.wait_for(
        bot.staff_chat, lambda m: m.reply_to_message_id == photo.message_id
    )
    assert 0 < utf16_len(photo.text) <= 1024
    assert "Nguyễn Thị Lan" in photo.text
    assert (photo.text + " " + rest.text).split()[-len(caption.split()) :] == caption.split()


async def test_a_long_staff_answer_reaches_the_customer_in_full(bot):
    lan = bot.customer("Lan")
    await make_customer(bot.services, name="Nguyễn Thị Lan", telegram_user_id=lan.id)
    ticket = await bot.services.complaints.file(lan.id, Draft("billing", "medium", "Sai tiền"))
    minh = await bot.staff_member("Minh")
    assert await bot.application.bot_data["ticket_cards"].sweep()
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)
    answer = " ".join(f"Bước {n}: kiểm tra hoá đơn và hoàn tiền." for n in range(110))  # ~4,000

    await minh.says_in(bot.staff_chat, answer, reply_to=card.message_id)

    first = await lan.next_message(timeout=10)
    second = await lan.next_message(timeout=10)
    assert "Minh" in first.text
    assert (first.text + " " + second.text).count("kiểm tra hoá đơn và hoàn tiền") == 110
