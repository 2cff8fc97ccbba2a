"""Linking a Telegram account through the sandbox: own contact, registration, one-time code."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from care.core.models import Customer, OutboxMessage
from tests.builders import make_customer

pytestmark = pytest.mark.e2e


async def record(bot, **where) -> Customer | None:
    async with bot.services.db.uow() as uow:
        query = select(Customer)
        for name, value in where.items():
            query = query.where(getattr(Customer, name) == value)
        found = await uow.session.scalar(query)
        if found is not None:
            uow.session.expunge(found)
        return found


async def emailed_code(bot) -> str:
    async with bot.services.db.uow() as uow:
        email = await uow.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        assert email is not None and email.channel == "email"
        return re.search(r"\b(\d{6})\b", email.body).group(1)


async def test_link_asks_for_the_phone_with_a_share_contact_button(bot):
    lan = bot.customer("Lan")

    prompt = await lan.says("/link")

    assert "Chia sẻ số điện thoại" in prompt.text
    (row,) = prompt.reply_markup["keyboard"]
    assert row[0]["request_contact"] is True
    assert prompt.keyboard == ["📱 Chia sẻ số điện thoại của tôi"]


async def test_sharing_ones_own_contact_links_the_matching_customer(bot):
    customer = await make_customer(bot.services, phone="+84912345678", name="Nguyễn Thị Lan")
    lan = bot.customer("Lan")

    answer = await lan.shares_contact("84 912 345 678")

    assert "Đã liên kết" in answer.text
    assert "Nguyễn Thị Lan" in answer.text
    assert answer.reply_markup == {"remove_keyboard": True}
    assert (await record(bot, id=customer.id)).telegram_user_id == lan.id
    profile = await lan.says("/profile")
    assert "Nguyễn Thị Lan" in profile.text
    assert "Tài khoản Telegram liên kết: Lan" in profile.text


async def test_someone_elses_contact_is_refused(bot):
    customer = await make_customer(bot.services, phone="+84912345678")
    lan = bot.customer("Lan")

    answer = await lan.shares_contact("0912345678", own=False)

    assert "của chính bạn" in answer.text
    assert answer.keyboard == ["📱 Chia sẻ số điện thoại của tôi"]
    assert (await record(bot, id=customer.id)).telegram_user_id is None


async def test_a_phone_linked_to_another_telegram_account_is_not_taken_over(bot):
    customer = await make_customer(bot.services, phone="+84912345678", telegram_user_id=42)
    lan = bot.customer("Lan")

    answer = await lan.shares_contact("0912345678")

    assert "một tài khoản Telegram khác" in answer.text
    assert (await record(bot, id=customer.id)).telegram_user_id == 42


async def test_a_new_customer_registers_after_a_malformed_birthday(bot):
    binh = bot.customer("Bình")

    offer = await binh.shares_contact("0987 654 321")
    assert "chưa tìm thấy" in offer.text and "0987 654 321" in offer.text
    ask_name = await binh.presses("Đăng ký khách hàng mới")
    assert "họ và tên" in ask_name.text
    assert ask_name.buttons == []  # the choice is made; its buttons are gone

    assert "e-mail" in (await binh.says("Trần Văn Bình")).text
    bad_email = await binh.says("binh@")
    assert "không hợp lệ" in bad_email.text
    assert "Ngày sinh" in (await binh.says("binh@example.com")).text
    bad_date = await binh.says("31/02/1992")
    assert "dd/mm/yyyy" in bad_date.text and "31/02/1992" in bad_date.text
    future = await binh.says("01/01/2099")
    assert "tương lai" in future.text
    welcome = await binh.says("04/03/1992")

    assert "Chào mừng" in welcome.text and "Trần Văn Bình" in welcome.text
    customer = await record(bot, telegram_user_id=binh.id)
    assert customer is not None
    assert (customer.name, customer.phone, customer.email, customer.birthday) == (
        "Trần Văn Bình",
        "+84987654321",
        "binh@example.com",
        date(1992, 3, 4),
    )
    assert customer.code in welcome.text


async def test_optional_details_can_be_skipped(bot):
    john = bot.customer("John", language="en")
    await john.shares_contact("+84 987 000 111")
    await john.presses("Register as a new customer")
    await john.says("John Smith")
    assert "date of birth" in (await john.says("/skip")).text
    welcome = await john.says("/skip")

    assert "Welcome" in welcome.text
    customer = await record(bot, telegram_user_id=john.id)
    assert (customer.email, customer.birthday, customer.language) == (None, None, "en")


async def test_an_existing_customer_links_with_a_customer_code_and_an_emailed_code(bot):
    customer = await make_customer(
        bot.services,
        code="KH-0042",
        phone="+84911111111",
        email="lan@example.com",
        name="Nguyễn Thị Lan",
    )
    lan = bot.customer("Lan")
    await lan.shares_contact("0987 654 321")  # her new number: no match
    assert "mã khách hàng" in (await lan.presses("Tôi có mã khách hàng")).text

    sent = await lan.says("kh-0042")
    assert "đã gửi một mã xác nhận" in sent.text
    code = await emailed_code(bot)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    tries = await lan.says(wrong)
    assert "Bạn còn 4 lần thử" in tries.text
    linked = await lan.says(code)

    assert "Đã liên kết" in linked.text and "Nguyễn Thị Lan" in linked.text
    assert (await record(bot, id=customer.id)).telegram_user_id == lan.id


async def test_unknown_codes_and_codes_without_email_answer_alike(bot):
    await make_customer(bot.services, code="KH-0050", email=None)
    lan = bot.customer("Lan")
    await lan.shares_contact("0987 654 321")
    await lan.presses("Tôi có mã khách hàng")

    no_email = await lan.says("KH-0050")
    unknown = await lan.says("KH-0051")

    assert no_email.text == unknown.text
    assert "không thể gửi mã" in unknown.text


async def test_a_linked_account_can_unlink_after_confirming(bot):
    customer = await make_customer(bot.services, name="Nguyễn Thị Lan")
    lan = bot.customer("Lan")
    async with bot.services.db.uow() as uow:
        (await uow.session.get(Customer, customer.id)).telegram_user_id = lan.id
        await uow.commit()

    await lan.says("/profile")
    confirm = await lan.presses("profile:unlink")
    assert "huỷ liên kết" in confirm.text
    done = await lan.presses("Có, huỷ liên kết")

    assert "Đã huỷ liên kết" in done.text
    assert (await record(bot, id=customer.id)).telegram_user_id is None
    again = await lan.taps("profile:unlink:yes", message=done, forged=True)
    assert again.show_alert and "chưa liên kết" in again.text


async def test_a_registration_under_way_survives_a_restart(bot):
    binh = bot.customer("Bình")
    await binh.shares_contact("0987 654 321")
    await binh.presses("Đăng ký khách hàng mới")

    await bot.restart()

    assert "e-mail" in (await binh.says("Trần Văn Bình")).text
    await binh.says("/skip")
    welcome = await binh.says("/skip")
    assert "Chào mừng" in welcome.text
    assert (await record(bot, telegram_user_id=binh.id)).name == "Trần Văn Bình"


async def test_a_language_chosen_in_chat_is_kept_on_the_customer_record(bot):
    customer = await make_customer(bot.services, phone="+84912345678", language="vi")
    lan = bot.customer("Lan")
    await lan.shares_contact("0912345678")

    await lan.says("/language")
    await lan.presses("English")

    assert (await record(bot, id=customer.id)).language == "en"
    assert "Language: English" in (await lan.says("/profile")).text
