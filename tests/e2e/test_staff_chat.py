"""The staff team chat through the sandbox: who may act on tickets, and the commands."""

import pytest
from sqlalchemy import select
from telegram.constants import ParseMode

from bot.handlers.surveys import csat_markup
from care.analytics.reports import CHARTS
from care.core.models import Survey
from care.outreach.programme import survey_callback
from scheduler.dispatcher import Dispatcher
from tests.builders import add_metrics, make_customer, make_order

pytestmark = pytest.mark.e2e


async def filed_ticket(
    bot,
    first_name="Lan",
    *,
    category="delivery",
    severity="medium",
    tier=None,
    text="Hàng giao trễ",
):
    """A customer who filed a ticket (through the service) whose card is in the staff chat."""
    person = bot.customer(first_name)
    customer = await make_customer(
        bot.services, name=f"Khách {first_name}", telegram_user_id=person.id
    )
    if tier:
        await add_metrics(bot.services, customer, tier=tier)
    await person.says("/complaint")
    await person.presses(f"complaint:cat:{category}")
    await person.says(text)
    # The customer taps faster than Telegram lets a bot answer one chat (about one message
    # a second): the bot is made to wait, as it would be.
    await person.presses(f"complaint:sev:{severity}", timeout=10)
    ticket = next(
        t
        for t in await bot.services.complaints.open_tickets()
        if t.customer_name == f"Khách {first_name}"
    )
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text, timeout=10)
    return person, customer, ticket, card


async def test_claiming_twice_or_after_someone_else_gets_a_clear_answer(bot):
    lan, _, ticket, card = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    trang = await bot.staff_member("Trang")
    await minh.presses(f"ticket:claim:{ticket.id}", card)
    await lan.next_message()  # "Minh is handling your complaint"
    twice = await minh.taps(f"ticket:claim:{ticket.id}", card, forged=True)
    assert "đã là của bạn" in twice.text
    other = await trang.taps(f"ticket:claim:{ticket.id}", card, forged=True)
    assert other.show_alert and "Minh" in other.text
    assert (await bot.services.complaints.ticket(ticket.id)).assignee == "Minh"
    await bot.sandbox.wait_idle(quiet=0.3)
    assert sum("đã nhận xử lý" in m.text for m in lan.messages) == 1


async def test_a_stranger_cannot_reply_resolve_or_use_staff_commands(bot):
    lan, _, ticket, card = await filed_ticket(bot)
    tuan = await bot.staff_member("Tuấn", registered=False)
    refused = await tuan.taps(f"ticket:resolve:{ticket.id}", card)
    assert refused.show_alert
    await tuan.says_in(bot.staff_chat, "Chị ơi em xử lý nhé", reply_to=card.message_id)
    refusal = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "⛔" in m.text)
    assert str(tuan.id) in refusal.text  # how to get registered
    await tuan.says_in(bot.staff_chat, f"/resolve {ticket.code} xong")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "⛔" in m.text)
    in_private = await tuan.says("/tickets")
    assert "⛔" in in_private.text
    customer_try = await lan.says(f"/ticket {ticket.code}")
    assert "⛔" in customer_try.text and "carebot staff add" not in customer_try.text
    after = await bot.services.complaints.ticket(ticket.id, history=True)
    assert after.status == "open"
    assert [h.author for h in after.history if h.event is None] == ["customer"]
    assert not any("em xử lý" in m.text for m in lan.messages)


STAFF_COMMANDS = [
    "/tickets",
    "/ticket KN-000001",
    "/resolve KN-000001 xong",
    "/stats",
    "/customer Lan",
    "/note KH00001 gọi khách",
    "/voucher K7RMX-EHT4P",
    "/report",
]


async def test_every_staff_command_is_refused_to_a_stranger_and_answered_for_staff(bot):
    tuan = await bot.staff_member("Tuấn", registered=False)
    minh = await bot.staff_member("Minh")
    for command in STAFF_COMMANDS:
        refusal = await tuan.says(command, timeout=10)
        assert refusal.text.startswith("⛔ Chức năng này chỉ dành cho nhân viên"), command
    listed = await minh.says("/tickets")
    assert "Phiếu đang mở" in listed.text and "⛔" not in listed.text


async def test_staff_talking_among_themselves_is_left_alone(bot):
    minh = await bot.staff_member("Minh")
    tuan = await bot.staff_member("Tuấn", registered=False)
    said = bot.sandbox.send_text(minh.user, "Ai trực hôm nay?", chat_id=bot.staff_chat)
    await tuan.says_in(bot.staff_chat, "Em ạ", reply_to=said["message_id"])
    await bot.sandbox.wait_idle(quiet=0.5)
    assert bot.sandbox.sent(bot.staff_chat) == []


async def test_a_staff_member_removed_from_the_register_is_refused_at_once(bot):
    _, _, ticket, card = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await bot.services.staff.remove(minh.id)
    refused = await minh.taps(f"ticket:claim:{ticket.id}", card)
    assert refused.show_alert
    assert (await bot.services.complaints.ticket(ticket.id)).status == "open"


async def test_resolve_in_one_line_and_a_second_time_is_refused(bot):
    lan, _, ticket, _ = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} Đã hoàn tiền 50.000 ₫")
    resolved = await lan.next_message()
    assert "Đã hoàn tiền 50.000 ₫" in resolved.text and resolved.buttons
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} lần nữa")
    again = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "trước đó" in m.text)
    assert ticket.code in again.text
    assert (await bot.services.complaints.ticket(ticket.id)).resolution == "Đã hoàn tiền 50.000 ₫"
    await minh.says_in(bot.staff_chat, "/resolve")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Cách dùng" in m.text)


async def test_a_reply_to_a_resolved_ticket_is_not_sent(bot):
    lan, _, ticket, card = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} Xong rồi ạ")
    await lan.next_message()
    await minh.says_in(bot.staff_chat, "Còn một việc nữa", reply_to=card.message_id)
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "trước đó" in m.text)
    await bot.sandbox.wait_idle(quiet=0.3)
    assert not any("Còn một việc nữa" in m.text for m in lan.messages)


async def test_a_photo_staff_send_in_reply_reaches_the_customer_with_its_caption(bot):
    lan, _, ticket, card = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await minh.sends_photo_in(bot.staff_chat, "Mẫu thay thế đây ạ", reply_to=card.message_id)
    photo = await lan.next_message()
    assert photo.photo is not None
    assert "Minh" in photo.text and ticket.code in photo.text
    assert "Mẫu thay thế đây ạ" in photo.text
    history = (await bot.services.complaints.ticket(ticket.id, history=True)).history
    [answer] = [entry for entry in history if entry.author == "staff"]
    assert answer.photo and answer.text == "Mẫu thay thế đây ạ"


async def test_tickets_lists_open_tickets_by_tier_severity_and_age(bot):
    minh = await bot.staff_member("Minh")
    await filed_ticket(bot, "An", severity="low")
    await filed_ticket(bot, "Bình", severity="critical")
    await filed_ticket(bot, "Chi", severity="low", tier="diamond")
    await minh.says_in(bot.staff_chat, "/tickets")
    listing = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Phiếu đang mở" in m.text)
    order = [listing.text.index(name) for name in ("Khách Chi", "Khách Bình", "Khách An")]
    assert order == sorted(order)
    assert "Phiếu đang mở: 3" in listing.text and "chưa ai nhận" in listing.text
    in_private = await minh.says("/tickets")
    assert "Phiếu đang mở: 3" in in_private.text


async def test_ticket_shows_the_history_and_details_does_the_same_under_the_card(bot):
    lan, _, ticket, card = await filed_ticket(bot, text="Giao nhầm màu")
    minh = await bot.staff_member("Minh")
    await minh.presses(f"ticket:claim:{ticket.id}", card)
    await minh.says_in(bot.staff_chat, "Em đổi màu khác cho chị", reply_to=card.message_id)
    await lan.next_message()
    await lan.next_message()
    await minh.says_in(bot.staff_chat, f"/ticket {ticket.code.lower()}")
    detail = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Lịch sử" in m.text)
    assert "Giao nhầm màu" in detail.text and "Em đổi màu khác cho chị" in detail.text
    assert "Minh nhận xử lý" in detail.text
    under = await minh.presses(f"ticket:details:{ticket.id}", card)
    assert "Lịch sử" in under.text and under.reply_to_message_id == card.message_id
    await minh.says_in(bot.staff_chat, "/ticket KN-999999")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Không tìm thấy phiếu" in m.text)


async def test_stats_in_the_staff_chat(bot):
    await filed_ticket(bot, category="billing", severity="high")
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, "/stats")
    stats = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Khiếu nại" in m.text)
    assert "Tổng số: 1" in stats.text and "Thanh toán" in stats.text
    await minh.says_in(bot.staff_chat, "/stats 31/02/2026")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Cách dùng: /stats" in m.text)


async def test_a_customer_who_blocked_the_bot_is_reported_to_staff(bot):
    lan, _, ticket, card = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    bot.sandbox.block(lan.user)
    await minh.says_in(bot.staff_chat, "Chị ơi", reply_to=card.message_id)
    note = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Không gửi được" in m.text)
    assert ticket.code in note.text


async def test_a_bad_delivery_rating_opens_a_ticket_in_the_staff_chat(bot):
    lan = bot.customer("Lan")
    customer = await make_customer(bot.services, name="Khách Lan", telegram_user_id=lan.id)
    order = await make_order(bot.services, customer)
    async with bot.services.db.uow() as uow:
        survey = Survey(customer_id=customer.id, trigger="delivery", order_id=order.id)
        uow.session.add(survey)
        await uow.commit()
    # The care programme's invitation carries these buttons; a message with them stands in.
    invitation = await bot.application.bot.send_message(
        lan.id,
        "Bạn thấy đơn hàng thế nào?",
        parse_mode=ParseMode.HTML,
        reply_markup=csat_markup(survey.id),
    )
    sent = next(m for m in lan.messages if m.message_id == invitation.message_id)
    await lan.presses(survey_callback(survey.id, 1), sent)
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "1/5" in m.text)
    assert order.code in card.text and "Khách Lan" in card.text
    assert "<b>" not in card.text  # the rating's notice is HTML on the card, not escaped text
    assert any(data.startswith("ticket:claim:") for _, data in card.buttons)
    # The conversation is open again: her next words go to staff.
    await lan.next_message()  # the next survey question
    await lan.sends("Hàng bị vỡ khi nhận")
    relayed = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "bị vỡ" in m.text)
    assert relayed.reply_to_message_id == card.message_id


async def test_someone_elses_survey_button_changes_nothing(bot):
    lan = bot.customer("Lan")
    owner = await make_customer(bot.services, name="Khách Nam", telegram_user_id=999_001)
    await make_customer(bot.services, name="Khách Lan", telegram_user_id=lan.id)
    async with bot.services.db.uow() as uow:
        survey = Survey(customer_id=owner.id, trigger="delivery")
        uow.session.add(survey)
        await uow.commit()
    menu = await lan.says("/start")
    answer = await lan.taps(survey_callback(survey.id, 1), menu, forged=True)
    assert "Không tìm thấy khảo sát" in answer.text
    async with bot.services.db.uow() as uow:
        assert (await uow.session.get(Survey, survey.id)).csat is None


async def test_a_full_survey_after_a_resolution(bot):
    lan, _, ticket, _ = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} Đã giao bù")
    resolved = await lan.next_message()
    one_star, five_stars = resolved.buttons[0][1], resolved.buttons[4][1]
    await lan.presses(five_stars, resolved)
    assert resolved.buttons == [] and "Đã giao bù" in resolved.text  # the note stays
    question = await lan.next_message()
    assert "5/5" in question.text and "Độ tin cậy" in question.text
    for score in ("5", "4"):
        question = await lan.presses(score, question)
    assert "Cơ sở vật chất" in question.text
    nps = await lan.presses("Bỏ qua", question)
    assert "giới thiệu" in nps.text and len(nps.buttons) == 12
    comment = await lan.presses("9", nps)
    assert "/skip" in comment.text
    done = await lan.says("Nhân viên rất nhiệt tình")
    assert "Cảm ơn" in done.text
    again = await lan.taps(one_star, resolved, forged=True)
    assert "đã trả lời" in again.text
    async with bot.services.db.uow() as uow:
        stored = await uow.session.scalar(select(Survey).where(Survey.complaint_id == ticket.id))
        assert (
            stored.csat,
            stored.reliability,
            stored.assurance,
            stored.tangibles,
            stored.nps,
            stored.comment,
            stored.status,
        ) == (5, 5, 4, None, 9, "Nhân viên rất nhiệt tình", "done")
    assert (await bot.services.complaints.ticket(ticket.id)).status == "resolved"


async def test_a_comment_asked_for_long_ago_is_not_taken_for_one(bot, clock):
    """The conversation's timeout is lost when the bot restarts; the asking time is not."""
    lan, _, ticket, _ = await filed_ticket(bot)
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} Đã giao bù")
    resolved = await lan.next_message()
    await lan.presses(resolved.buttons[4][1], resolved)
    question = await lan.next_message()
    for score in ("5", "4"):
        question = await lan.presses(score, question)
    nps = await lan.presses("Bỏ qua", question)
    comment = await lan.presses("9", nps)
    assert "/skip" in comment.text
    clock.advance(hours=2)  # a restart lost the timeout; the question is long stale

    answer = await lan.says("Cửa hàng mở cửa lúc mấy giờ?")

    assert "Cảm ơn" not in answer.text  # taken as a question, not as the comment
    async with bot.services.db.uow() as uow:
        stored = await uow.session.scalar(select(Survey).where(Survey.complaint_id == ticket.id))
        assert stored.comment is None


async def test_a_deadline_breach_is_posted_to_the_staff_chat_once(bot, clock):
    _, _, ticket, _ = await filed_ticket(bot)  # member, medium: a first answer within 4 h
    clock.advance(hours=4, minutes=1)
    first = await bot.services.deadlines.check()
    second = await bot.services.deadlines.check()
    assert [b.kind for b in first] == ["first"] and second == []
    dispatcher = Dispatcher.create(bot.services, bot.application.bot)
    try:
        await dispatcher.drain()
        await dispatcher.drain()
    finally:
        await dispatcher.close()
    reminder = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "quá hạn" in m.text)
    assert ticket.code in reminder.text and "chưa có ai nhận" in reminder.text.lower()
    await bot.sandbox.wait_idle(quiet=0.3)
    assert sum("quá hạn" in m.text for m in bot.sandbox.sent(bot.staff_chat)) == 1


async def test_customer_shows_the_card_and_asks_which_one_when_several_match(bot):
    minh = await bot.staff_member("Minh")
    lan = await make_customer(bot.services, name="Nguyễn Thị Lan", phone="+84912000111")
    await make_customer(bot.services, name="Trần Thị Lan")
    await make_order(bot.services, lan)
    await add_metrics(bot.services, lan, tier="gold", segment="loyal", historical_ltv=9_000_000)
    await minh.says_in(bot.staff_chat, "/customer 0912000111")
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Nguyễn Thị Lan" in m.text)
    assert lan.code in card.text and "Vàng" in card.text and "9.000.000 ₫" in card.text
    assert "Khiếu nại: 0" in card.text and "Hỗ trợ ưu tiên" in card.text
    await minh.says_in(bot.staff_chat, "/customer lan")
    several = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "khách khớp" in m.text)
    assert "Nguyễn Thị Lan" in several.text and "Trần Thị Lan" in several.text
    await minh.says_in(bot.staff_chat, "/customer Không Ai Cả")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "Không tìm thấy khách" in m.text)


async def test_report_posts_the_charts_as_photos(bot):
    minh = await bot.staff_member("Minh")
    await minh.says_in(bot.staff_chat, "/report")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "biểu đồ" in m.text)
    photos = []
    while len(photos) < len(CHARTS):
        photos.append(
            await bot.sandbox.wait_for(bot.staff_chat, lambda m: m.photo is not None, timeout=30)
        )
    assert photos[0].text == "Số khách hàng theo hạng"
