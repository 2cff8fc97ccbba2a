"""Staff answer the questions the FAQ could not, from the staff chat."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
QUESTION = "Shop có bán sim số đẹp không?"
ANSWER = "Có, cửa hàng bán sim số đẹp của Viettel, Vinaphone và Mobifone."


@pytest.fixture
async def faq_bot(bot):
    report = await bot.services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return bot


async def test_staff_reply_to_the_list_of_unanswered_questions_and_customers_get_it(faq_bot):
    lan = faq_bot.customer("Lan")
    assert "chưa có câu trả lời" in (await lan.says(QUESTION)).text
    (group,) = await faq_bot.services.faq.unanswered()
    number = group.question_ids[0]
    minh = await faq_bot.staff_member("Minh")

    await minh.says_in(faq_bot.staff_chat, "/faq")
    listing = await faq_bot.next_staff_message()
    assert f"#{number}" in listing.text and QUESTION in listing.text
    await minh.says_in(faq_bot.staff_chat, f"{number} {ANSWER}", reply_to=listing.message_id)
    done = await faq_bot.next_staff_message()
    assert "Đã thêm mục hỏi đáp" in done.text

    answer = await faq_bot.customer("Hoa").says("shop co ban sim so dep ko")
    assert ANSWER in answer.text
    assert await faq_bot.services.faq.unanswered() == []


async def test_staff_make_an_unanswered_question_another_way_to_ask_an_entry(faq_bot):
    lan = faq_bot.customer("Lan")
    await lan.says("Bao giờ thì tiền về tài khoản của em?")
    (group,) = await faq_bot.services.faq.unanswered()
    returns = next(
        e for e in await faq_bot.services.faq.entries("vi") if e.question.startswith("Chính sách")
    )
    minh = await faq_bot.staff_member("Minh")

    await minh.says_in(faq_bot.staff_chat, f"/faq {group.question_ids[0]} ={returns.id}")
    done = await faq_bot.next_staff_message()
    assert "nay là một cách hỏi của mục" in done.text

    answer = await faq_bot.customer("Hoa").says("Bao giờ thì tiền về tài khoản của em?")
    assert "Trong 7 ngày" in answer.text
    (learned,) = await faq_bot.services.faq.learned()
    assert learned.source == "staff"


async def test_a_wrong_number_or_order_gets_a_clear_answer_and_changes_nothing(faq_bot):
    minh = await faq_bot.staff_member("Minh")
    entries = len(await faq_bot.services.faq.entries())

    await minh.says_in(faq_bot.staff_chat, "/faq 999 Câu trả lời")
    assert "#999" in (await faq_bot.next_staff_message()).text
    await minh.says_in(faq_bot.staff_chat, "/faq ok p999")
    assert "p999" in (await faq_bot.next_staff_message()).text
    await minh.says_in(faq_bot.staff_chat, "/faq lung tung")
    assert "Cách dùng" in (await faq_bot.next_staff_message()).text

    assert len(await faq_bot.services.faq.entries()) == entries


async def test_only_staff_may_answer(faq_bot):
    await faq_bot.customer("Lan").says(QUESTION)
    (group,) = await faq_bot.services.faq.unanswered()
    stranger = await faq_bot.staff_member("Tuấn", registered=False)

    await stranger.says_in(faq_bot.staff_chat, f"/faq {group.question_ids[0]} {ANSWER}")
    await faq_bot.next_staff_message()

    assert len(await faq_bot.services.faq.unanswered()) == 1
