"""Contacts in the staff chat: /note records a call, the card shows it with the tier
history, and a planned contact's reminder reaches the staff member in private."""

from datetime import timedelta

import pytest

from care.core.models import ClassificationChange
from scheduler.dispatcher import Dispatcher
from tests.builders import add_metrics, make_customer

pytestmark = pytest.mark.e2e


async def test_a_note_is_recorded_and_shows_on_the_card_with_the_tier_history(bot):
    minh = await bot.staff_member("Minh")
    lan = await make_customer(bot.services, code="KH77001", name="Nguyễn Thị Lan")
    await add_metrics(bot.services, lan, tier="gold", monetary=9_000_000)
    now = bot.services.clock()
    async with bot.services.db.uow() as uow:
        uow.session.add(
            ClassificationChange(
                customer_id=lan.id,
                field="tier",
                old_value="silver",
                new_value="gold",
                changed_at=now - timedelta(days=3),
                as_of=(now - timedelta(days=3)).date(),
            )
        )
        await uow.commit()

    await minh.says_in(bot.staff_chat, "/note KH77001 gọi khách hẹn tuần sau ghé cửa hàng")
    saved = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Đã ghi liên hệ" in m.text)
    assert "Nguyễn Thị Lan" in saved.text
    [contact] = await bot.services.contacts.list(customer_id=lan.id)
    assert (contact.kind, contact.staff_name, contact.source) == ("call", "Minh", "chat")
    assert contact.note == "khách hẹn tuần sau ghé cửa hàng"

    await minh.says_in(bot.staff_chat, "/customer KH77001")
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Lịch sử hạng" in m.text)
    assert "Bạc → Vàng" in card.text
    assert "Gọi điện" in card.text and "khách hẹn tuần sau" in card.text and "Minh" in card.text


async def test_a_note_for_an_unknown_code_or_without_text_changes_nothing(bot):
    minh = await bot.staff_member("Minh")
    await make_customer(bot.services, code="KH77002")
    await minh.says_in(bot.staff_chat, "/note KH99999 gọi khách")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Không tìm thấy khách" in m.text)
    await minh.says_in(bot.staff_chat, "/note KH77002")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Cách dùng: /note" in m.text)
    assert await bot.services.contacts.list() == []


async def test_a_planned_contact_reminds_its_staff_member_in_private(bot):
    minh = await bot.staff_member("Minh")
    member = await bot.services.staff.get(minh.id)
    lan = await make_customer(bot.services, code="KH77003", name="Trần Văn Nam")
    await bot.services.contacts.plan(
        lan.id,
        due_at=bot.services.clock() + timedelta(minutes=20),
        staff_id=member.id,
        note="Chúc mừng lên hạng",
    )
    dispatcher = Dispatcher.create(bot.services, bot.application.bot)
    try:
        await dispatcher.drain()
    finally:
        await dispatcher.close()
    reminder = await minh.next_message(timeout=10)
    assert "Nhắc lịch liên hệ" in reminder.text and "Trần Văn Nam" in reminder.text
    assert "Chúc mừng lên hạng" in reminder.text
