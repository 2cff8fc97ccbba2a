"""The profile through the sandbox: details, consent, /stop, /mydata, /forgetme, escaping."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import or_, select

from care.core.models import (
    BotState,
    Complaint,
    ComplaintMessage,
    Customer,
    Interaction,
    Order,
)
from care.customers import ERASED_NAME
from tests.builders import make_customer, make_order

pytestmark = pytest.mark.e2e


async def linked(bot, person, **fields) -> Customer:
    return await make_customer(bot.services, telegram_user_id=person.id, **fields)


async def stored(bot, customer_id: int) -> Customer:
    async with bot.services.db.uow() as uow:
        customer = await uow.session.get(Customer, customer_id)
        uow.session.expunge(customer)
        return customer


async def test_the_profile_shows_what_the_business_holds(bot):
    lan = bot.customer("Lan")
    await linked(
        bot,
        lan,
        code="KH-0007",
        name="Nguyễn Thị Lan",
        phone="+84912345678",
        email="lan@example.com",
        address="12 Hàng Bạc, Hoàn Kiếm",
        region="Hà Nội",
    )

    profile = await lan.says("/profile")

    for shown in (
        "Nguyễn Thị Lan",
        "KH-0007",
        "0912 345 678",
        "lan@example.com",
        "17/05/1990",
        "12 Hàng Bạc, Hoàn Kiếm",
        "Hà Nội",
        "Ngôn ngữ: Tiếng Việt",
        "Tài khoản Telegram liên kết: Lan",
        "Qua Telegram: 🚫 không nhận",
    ):
        assert shown in profile.text, shown


async def test_a_name_with_markup_characters_is_shown_as_written(bot):
    lan = bot.customer("Lan")
    await make_customer(bot.services, name="<Lan & Co>", phone="+84912345678")

    linked_answer = await lan.shares_contact("0912345678")
    profile = await lan.says("/profile")

    assert "<Lan & Co>" in linked_answer.text
    assert "<Lan & Co>" in profile.text
    assert "&lt;Lan &amp; Co&gt;" in profile.raw_text
    assert not bot.sandbox.stats.errors  # Telegram (strict, like the sandbox) accepted both


async def test_consent_is_toggled_with_one_tap_and_the_message_shows_it(bot):
    lan = bot.customer("Lan")
    record = await linked(bot, lan)
    profile = await lan.says("/profile")

    edited = await lan.presses("consent:telegram")

    assert edited.message_id == profile.message_id
    assert "Qua Telegram: ✅ đang nhận" in edited.text
    assert "Qua e-mail: 🚫 không nhận" in edited.text
    assert ("✅ Khuyến mãi qua Telegram (bấm để tắt)", "consent:telegram") in edited.buttons
    edited = await lan.presses("consent:email")
    assert "Qua e-mail: ✅ đang nhận" in edited.text
    customer = await stored(bot, record.id)
    assert (customer.consent_telegram, customer.consent_email) == (True, True)
    edited = await lan.presses("consent:telegram")
    assert "Qua Telegram: 🚫 không nhận" in edited.text
    assert (await stored(bot, record.id)).consent_telegram is False


async def test_email_promotions_without_an_address_are_explained(bot):
    lan = bot.customer("Lan")
    record = await linked(bot, lan, email=None)
    await lan.says("/profile")

    notice = await lan.taps("consent:email")

    assert notice.show_alert and "e-mail" in notice.text
    assert (await stored(bot, record.id)).consent_email is False


@pytest.mark.parametrize(
    "words", ["/stop", "huỷ đăng ký", "hủy đăng ký", "huy dang ky", "Unsubscribe", "STOP"]
)
async def test_stop_turns_all_marketing_off_at_once(bot, words):
    lan = bot.customer("Lan")
    record = await linked(bot, lan, consent_telegram=True, consent_email=True)

    answer = await lan.says(words)

    assert "Đã tắt tất cả" in answer.text
    customer = await stored(bot, record.id)
    assert (customer.consent_telegram, customer.consent_email) == (False, False)


async def test_email_and_birthday_are_edited_with_validation(bot):
    lan = bot.customer("Lan")
    record = await linked(bot, lan, email="old@example.com")
    await lan.says("/profile")

    assert "e-mail" in (await lan.presses("profile:email")).text
    assert "không hợp lệ" in (await lan.says("lan@@example")).text
    saved = await lan.says("lan.moi@example.com")
    assert "Đã lưu e-mail mới" in saved.text and "lan.moi@example.com" in saved.text
    await lan.presses("profile:birthday", message=saved)
    assert "tương lai" in (await lan.says("24/11/2026")).text  # tomorrow
    saved = await lan.says("02/09/1995")
    assert "02/09/1995" in saved.text

    customer = await stored(bot, record.id)
    assert (customer.email, customer.birthday) == ("lan.moi@example.com", date(1995, 9, 2))


async def test_mydata_sends_everything_as_a_json_document(bot):
    lan = bot.customer("Lan")
    record = await linked(bot, lan, name="Nguyễn Thị Lan", consent_email=True)
    await make_order(bot.services, record, code="DH-000555", amount=777_000)
    await lan.says("/orders")

    document = await lan.says("/mydata")

    assert document.document is not None
    assert document.document["file_name"].endswith(".json")
    assert "bản sao" in document.text
    raw = bot.sandbox.world.files[document.document["file_id"]].data
    assert "Nguyễn Thị Lan".encode() in raw  # UTF-8, not \u escapes
    data = json.loads(raw.decode("utf-8"))
    assert data["profile"]["name"] == "Nguyễn Thị Lan"
    assert data["consents"] == {"telegram_promotions": False, "email_promotions": True}
    assert [o["amount"] for o in data["orders"]] == [777_000]
    assert "/orders" in [i["text"] for i in data["interactions"]]
    for part in ("complaints", "surveys", "policies"):
        assert data[part] == []


async def test_forgetme_erases_personal_data_after_confirmation(bot):
    lan = bot.customer("Lan")
    await lan.says("/language")
    await lan.presses("Tiếng Việt")  # something the bot remembers about her (user_data)
    record = await linked(
        bot,
        lan,
        name="Nguyễn Thị Lan",
        phone="+84912345678",
        email="lan@example.com",
        address="12 Hàng Bạc",
    )
    order = await make_order(bot.services, record, amount=1_250_000)
    async with bot.services.db.uow() as uow:
        complaint = Complaint(
            customer_id=record.id, category="delivery", description="trễ", status="resolved"
        )
        uow.session.add(complaint)
        await uow.session.flush()
        uow.session.add(
            ComplaintMessage(
                complaint_id=complaint.id, author="customer", text="Tôi là Lan, 0912345678"
            )
        )
        await uow.commit()
    await lan.says("Tôi là Lan, số 0912345678, email lan@example.com")

    confirm = await lan.says("/forgetme")
    assert "không thể hoàn tác" in confirm.text
    done = await lan.presses("forget:yes")
    assert "Đã xoá dữ liệu cá nhân" in done.text

    customer = await stored(bot, record.id)
    assert customer.name == ERASED_NAME and customer.erased_at is not None
    assert (
        customer.phone,
        customer.email,
        customer.address,
        customer.birthday,
        customer.telegram_user_id,
    ) == (None, None, None, None, None)
    async with bot.services.db.uow() as uow:
        session = uow.session
        texts = (
            await session.scalars(select(Interaction.text).where(Interaction.text.is_not(None)))
        ).all()
        kept = await session.get(Order, order.id)
        kept_values = (kept.amount, kept.customer_id)
        messages = (await session.scalars(select(ComplaintMessage.text))).all()
        hers = (
            await session.scalars(
                select(Interaction.text).where(
                    or_(
                        Interaction.customer_id == record.id, Interaction.telegram_user_id == lan.id
                    )
                )
            )
        ).all()
    for personal in ("Nguyễn Thị Lan", "0912345678", "lan@example.com", "12 Hàng Bạc"):
        assert not any(personal in text for text in texts), personal
    assert set(hers) <= {None} | {done.raw_text}  # only the generic confirmation is left
    assert messages == [None]
    assert kept_values == (1_250_000, record.id)

    for _ in range(50):  # the bot hands its state to the database every second
        async with bot.services.db.uow() as uow:
            remembered = await uow.session.scalar(
                select(BotState.data).where(BotState.kind == "user", BotState.key == str(lan.id))
            )
        if not remembered:
            break
        await asyncio.sleep(0.1)
    assert not remembered


async def test_confirming_twice_or_after_erasure_answers_sensibly(bot):
    lan = bot.customer("Lan")
    await linked(bot, lan)
    confirm = await lan.says("/forgetme")
    await lan.presses("forget:yes")

    again = await lan.taps("forget:yes", message=confirm, forged=True)
    assert again.show_alert and "còn gì để xoá" in again.text
    assert "không còn gì để xoá" in (await lan.next_message()).text  # the message says so too
    old_no = await lan.taps("forget:no", message=confirm, forged=True)
    assert old_no.show_alert and "còn gì để xoá" in old_no.text
    assert "không còn gì để xoá" in (await lan.says("/forgetme")).text
    assert "chưa liên kết" in (await lan.says("/profile")).text


async def test_saying_no_keeps_everything(bot):
    lan = bot.customer("Lan")
    record = await linked(bot, lan, name="Nguyễn Thị Lan")
    await lan.says("/forgetme")

    kept = await lan.presses("forget:no")

    assert "giữ nguyên" in kept.text
    assert (await stored(bot, record.id)).name == "Nguyễn Thị Lan"
