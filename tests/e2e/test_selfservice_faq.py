"""FAQ self-service through the sandbox: answers, "did you mean", and unanswered questions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.builders import database_env, make_customer

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
OPENING_HOURS = "Các cửa hàng mở cửa từ 8:00 đến 21:30"


@pytest.fixture
async def faq_bot(bot):
    report = await bot.services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return bot


@pytest.mark.parametrize(
    "question",
    [
        "Cửa hàng mở cửa lúc mấy giờ?",  # as written in the FAQ
        "cua hang mo cua luc may gio",  # without diacritics
        "cửa hàg mở của lúc mấy giờ",  # with typos
    ],
)
async def test_a_question_is_answered_however_it_is_typed(faq_bot, question):
    lan = faq_bot.customer("Lan")

    answer = await lan.says(question)

    assert OPENING_HOURS in answer.text
    assert "Cửa hàng mở cửa lúc mấy giờ?" in answer.text


async def test_an_english_speaker_gets_the_english_answer(faq_bot):
    john = faq_bot.customer("John", language="en")

    answer = await john.says("what are your opening hours")

    assert "Our stores are open from 8:00 to 21:30" in answer.text


async def test_a_vague_question_offers_choices_and_a_pick_answers(faq_bot):
    lan = faq_bot.customer("Lan")

    choices = await lan.says("giao hàng")

    assert choices.text.startswith("Bạn muốn hỏi…?")
    assert len(choices.buttons) == 3
    assert all(data.startswith("faq:") for _, data in choices.buttons)
    answer = await lan.presses("Phí giao hàng là bao nhiêu?")
    assert answer.message_id == choices.message_id  # the choices give way to the answer
    assert "Phí giao hàng là bao nhiêu?" in answer.text
    assert answer.buttons == []


async def test_an_unanswered_question_offers_a_person_and_is_recorded(faq_bot, settings):
    customer = await make_customer(faq_bot.services)
    lan = faq_bot.customer("Lan")
    await faq_bot.services.customers.link_by_phone(lan.id, customer.phone)

    answer = await lan.says("Con mèo của tôi tên là gì?")

    assert "chưa có câu trả lời" in answer.text
    assert answer.buttons == [("🙋 Gặp nhân viên hỗ trợ", "menu:complaint")]
    (group,) = await faq_bot.services.faq.unanswered()
    assert group.example == "Con mèo của tôi tên là gì?"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["faq", "unanswered"],
        env={**database_env(faq_bot.settings), "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Con mèo của tôi tên là gì?" in result.output


async def test_an_unlinked_user_is_answered_too(faq_bot):
    stranger = faq_bot.customer("Khách")

    answer = await stranger.says("Mấy giờ cửa hàng đóng cửa?")

    assert OPENING_HOURS in answer.text


async def test_a_message_over_the_limit_gets_a_clear_answer(faq_bot):
    lan = faq_bot.customer("Lan")
    limit = faq_bot.settings.max_text_length

    answer = await lan.says("a" * (limit + 1))

    assert "dài quá" in answer.text and str(limit) in answer.text
    assert await faq_bot.services.faq.unanswered() == []


async def test_an_unknown_command_is_answered(faq_bot):
    lan = faq_bot.customer("Lan")

    answer = await lan.says("/abracadabra")

    assert "/abracadabra" in answer.text and "/help" in answer.text


async def test_a_photo_without_an_open_ticket_is_asked_for_words(faq_bot):
    lan = faq_bot.customer("Lan")

    answer = await lan.sends_photo()

    assert "gõ câu hỏi" in answer.text
    assert await faq_bot.services.faq.unanswered() == []
