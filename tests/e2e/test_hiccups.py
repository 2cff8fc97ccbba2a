"""Telegram having a bad moment: nothing the bot promised is lost.

The sandbox answers 500 (or its front end 502) for a while; the bot tries again, and what
it could not deliver at once (a ticket's staff card, the ticket code) is delivered later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from care.tickets.complaints import Draft, code_key
from scheduler.dispatcher import Dispatcher
from tests.builders import make_customer, outbox_row

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
OPENING_HOURS = "Các cửa hàng mở cửa từ 8:00 đến 21:30"


@pytest.fixture
async def faq_bot(bot):
    report = await bot.services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return bot


async def test_a_customers_faq_answer_arrives_although_telegram_answered_500_a_while(faq_bot):
    lan = faq_bot.customer("Lan")
    spell = faq_bot.sandbox.fail_requests(requests=3, methods=["sendMessage"])  # about 2 s

    answer = await lan.says("Cửa hàng mở cửa lúc mấy giờ?", timeout=10)

    assert OPENING_HOURS in answer.text
    assert spell.hits == 3  # the answer was refused three times, and tried again
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


# --- a ticket filed while Telegram fails --------------------------------------------------


async def quick_to_retry(bot):
    """The bot restarted to give up on a request soon and to retry cards every second, so a
    short spell outlasts a request's retries."""
    bot.settings = bot.settings.model_copy(
        update={
            "telegram_retry_attempts": 2,
            "telegram_retry_seconds": 0.05,
            "ticket_card_retry_seconds": 1.0,
        }
    )
    await bot.restart()


async def linked_customer(bot, first_name="Lan"):
    person = bot.customer(first_name)
    customer = await make_customer(
        bot.services, name=f"Nguyễn Thị {first_name}", telegram_user_id=person.id
    )
    return person, customer


async def form_up_to_severity(person, *, photo=False):
    """The complaint form filled in up to the last step; returns the severity question."""
    await person.says("/complaint")
    await person.presses("complaint:cat:delivery")  # no orders: the description next
    if photo:
        return await person.sends_photo(caption="Hộp bị móp")
    return await person.says("Hàng giao trễ một tuần")


async def drain_outbox(bot):
    """What the dispatcher of `carebot run` would do now, through the bot's own Bot."""
    dispatcher = Dispatcher.create(bot.services, bot.application.bot)
    try:
        return await dispatcher.drain()
    finally:
        await dispatcher.close()


async def test_a_ticket_filed_while_telegram_fails_gets_its_card_and_the_customer_the_code(bot):
    await quick_to_retry(bot)
    lan, _ = await linked_customer(bot)
    severity = await form_up_to_severity(lan)
    # Every attempt of the form's edit and of the card fails: more than the retries cover.
    spell = bot.sandbox.fail_requests(requests=4, methods=["editMessageText", "sendMessage"])

    mark = bot.sandbox.mark()
    bot.sandbox.press_button(lan.user, severity, "complaint:sev:high")

    card = await bot.sandbox.wait_for(
        bot.staff_chat, lambda m: "KN-" in m.text, after=mark, timeout=10
    )
    ticket = (await bot.services.complaints.open_tickets())[0]
    assert ticket.code in card.text and "Hàng giao trễ một tuần" in card.text
    assert spell.hits == 4  # the form's edit and the card, each tried twice
    # Usually the chat could not say it and the outbox does; on a busy machine the form's
    # last word can land after the spell. Either way she learns the code exactly once.
    await drain_outbox(bot)
    told = await bot.sandbox.wait_for(lan.id, lambda m: ticket.code in m.text)
    assert "Đã nhận khiếu nại" in told.text and "Bạn cứ nhắn thêm" in told.text

    # The form is over: what she writes now reaches the staff, under the card.
    await lan.sends("Mã đơn của tôi là DH00042")
    relayed = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "DH00042" in m.text)
    assert relayed.reply_to_message_id == card.message_id
    await bot.sandbox.wait_idle()
    assert sum(ticket.code in m.text for m in lan.messages) == 1
    assert (
        sum(ticket.code in m.text and m.buttons != [] for m in bot.sandbox.sent(bot.staff_chat))
        == 1
    )  # one card


async def test_a_photo_telegram_did_not_take_follows_under_the_card(bot):
    await quick_to_retry(bot)
    lan, _ = await linked_customer(bot)
    severity = await form_up_to_severity(lan, photo=True)
    spell = bot.sandbox.fail_requests(requests=2, methods=["sendPhoto"])  # both attempts

    filed = await lan.presses("complaint:sev:low", severity)

    ticket = (await bot.services.complaints.open_tickets())[0]
    assert ticket.code in filed.text
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)
    photo = await bot.sandbox.wait_for(bot.staff_chat, lambda m: m.photo is not None, timeout=10)
    assert photo.reply_to_message_id == card.message_id
    assert spell.hits == 2
    await bot.sandbox.wait_idle()
    assert sum(m.photo is not None for m in bot.sandbox.sent(bot.staff_chat)) == 1
    assert (await bot.services.complaints.unposted_cards()) == []


async def test_the_code_the_chat_showed_is_not_sent_again_by_the_outbox(bot, clock):
    lan, _ = await linked_customer(bot)
    severity = await form_up_to_severity(lan)
    filed = await lan.presses("complaint:sev:medium", severity)
    ticket = (await bot.services.complaints.open_tickets())[0]
    assert ticket.code in filed.text
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)  # all done

    clock.advance(seconds=bot.settings.ticket_code_fallback_seconds + 1)
    report = await drain_outbox(bot)

    assert report["sent"] == 0
    row = await outbox_row(bot.services, code_key(ticket.id))
    assert (row.status, row.skip_reason) == ("skipped", "shown_in_chat")


async def test_a_ticket_filed_just_before_the_bot_stopped_gets_its_card_and_code_later(bot, clock):
    lan, _ = await linked_customer(bot)
    await bot.stop()
    # Filed, and then the bot stopped before anything reached Telegram.
    ticket = await bot.services.complaints.file(lan.id, Draft("billing", "high", "Trừ tiền 2 lần"))
    await bot.start()

    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)
    assert "Trừ tiền 2 lần" in card.text
    assert card.buttons[0][1] == f"ticket:claim:{ticket.id}"
    clock.advance(seconds=bot.settings.ticket_code_fallback_seconds)
    await drain_outbox(bot)
    told = await bot.sandbox.wait_for(lan.id, lambda m: ticket.code in m.text)
    assert "Đã nhận khiếu nại" in told.text
