"""A complaint from the customer's side, through the sandbox: intake, the ticket code and
targets, talking with staff while it is open, the resolution and the rating."""

from datetime import date

import pytest

from tests.builders import add_metrics, make_customer, make_order

pytestmark = pytest.mark.e2e


async def linked_customer(bot, first_name="Lan", **fields):
    person = bot.customer(first_name)
    customer = await make_customer(
        bot.services,
        name=fields.pop("name", f"Nguyễn Thị {first_name}"),
        telegram_user_id=person.id,
        **fields,
    )
    return person, customer


async def staff_says(bot, text_part):
    """The next staff-chat message (or edit) containing ``text_part``."""
    return await bot.sandbox.wait_for(bot.staff_chat, lambda m: text_part in m.text, timeout=10)


async def test_the_whole_path_from_intake_to_a_low_rating(bot):
    lan, customer = await linked_customer(bot)
    order = await make_order(bot.services, customer)
    await add_metrics(
        bot.services,
        customer,
        as_of=date(2026, 11, 1),
        tier="gold",
        segment="loyal",
        historical_ltv=18_500_000,
    )
    await bot.services.policies.grant(customer.id, "free_shipping", value=30_000)
    minh = await bot.staff_member("Minh")
    tuan = await bot.staff_member("Tuấn", registered=False)

    # Intake: category, one of her orders, a photo with a caption, the severity.
    form = await lan.says("/complaint")
    assert "Gửi khiếu nại" in form.text
    assert ("🚚 Giao hàng", "complaint:cat:delivery") in form.buttons
    orders = await lan.presses("🚚 Giao hàng")
    assert "Giao hàng" in orders.text
    assert any(order.code in text for text, _ in orders.buttons)
    prompt = await lan.presses(f"complaint:order:{order.id}")
    assert order.code in prompt.text and "ảnh" in prompt.text
    severity = await lan.sends_photo(caption="Hộp bị móp, sản phẩm trầy xước")
    assert ("🟠 Nghiêm trọng", "complaint:sev:high") in severity.buttons
    filed = await lan.presses("complaint:sev:high")
    ticket = (await bot.services.complaints.open_tickets())[0]
    assert ticket.code in filed.text
    assert "30 phút" in filed.text  # gold, high severity: first answer within 1 h x 0.5
    assert "12 giờ" in filed.text  # and resolved within 24 h x 0.5

    # The card in the staff chat, and the photo under it.
    card = await staff_says(bot, ticket.code)
    assert "Nguyễn Thị Lan" in card.text
    assert "Hạng Vàng" in card.text and "18.500.000 ₫" in card.text and order.code in card.text
    assert "Khiếu nại trước đây: 0" in card.text
    assert "Miễn phí giao hàng đơn kế tiếp (30.000 ₫)" in card.text  # received already
    assert "Hỗ trợ ưu tiên" in card.text and "Quà tri ân" in card.text  # suggested
    assert "Hộp bị móp" in card.text
    assert [data for _, data in card.buttons] == [
        f"ticket:claim:{ticket.id}",
        f"ticket:resolve:{ticket.id}",
        f"ticket:details:{ticket.id}",
    ]
    photo = await bot.sandbox.wait_for(bot.staff_chat, lambda m: m.photo is not None)
    assert photo.reply_to_message_id == card.message_id

    # Someone in the staff chat who is not registered staff presses Claim: refused.
    refused = await tuan.taps(f"ticket:claim:{ticket.id}", card)
    assert refused.show_alert and "nhân viên đã đăng ký" in refused.text
    assert (await bot.services.complaints.ticket(ticket.id)).status == "open"

    # The agent claims it; the customer is told.
    await minh.presses(f"ticket:claim:{ticket.id}", card)
    told = await lan.next_message()
    assert "Minh" in told.text and ticket.code in told.text
    claimed = await bot.services.complaints.ticket(ticket.id)
    assert claimed.status == "claimed" and claimed.assignee == "Minh"
    assert "đang xử lý" in card.text  # the card shows it
    assert f"ticket:claim:{ticket.id}" not in [data for _, data in card.buttons]

    # The agent replies to the card; the customer gets it signed.
    await minh.says_in(
        bot.staff_chat, "Chào chị, em gửi hộp mới ngay hôm nay ạ", reply_to=card.message_id
    )
    answer = await lan.next_message()
    assert "Minh" in answer.text and "em gửi hộp mới ngay hôm nay" in answer.text

    # The customer answers: it goes under the card, not to the FAQ.
    await lan.sends("Cảm ơn em, chị đợi nhé")
    relayed = await staff_says(bot, "chị đợi nhé")
    assert relayed.reply_to_message_id == card.message_id
    assert ticket.code in relayed.text

    # The agent replies to the relayed message too: that maps to the ticket as well.
    await minh.says_in(bot.staff_chat, "Dạ vâng ạ", reply_to=relayed.message_id)
    assert "Dạ vâng ạ" in (await lan.next_message()).text

    # Resolve: the button asks for the note; the reply to the prompt is the note.
    prompt = await minh.presses(f"ticket:resolve:{ticket.id}", card)
    assert ticket.code in prompt.text
    await minh.says_in(
        bot.staff_chat, "Đã giao hộp mới và hoàn phí vận chuyển", reply_to=prompt.message_id
    )
    resolved = await lan.next_message()
    assert "đã được giải quyết" in resolved.text
    assert "hoàn phí vận chuyển" in resolved.text
    assert [label for label, _ in resolved.buttons] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    await staff_says(bot, "đã được Minh giải quyết")
    assert "đã giải quyết" in card.text

    # She rates 2: the staff chat is told under the card, and the ticket is reopened.
    survey_data = resolved.buttons[1][1]
    await lan.presses(survey_data, resolved)
    question = await lan.next_message()
    assert "2/5" in question.text and "Độ tin cậy" in question.text
    alert = await staff_says(bot, "2/5")
    assert "Nguyễn Thị Lan" in alert.text and ticket.code in alert.text
    assert alert.reply_to_message_id == card.message_id
    reopened = await bot.services.complaints.ticket(ticket.id, history=True)
    assert reopened.status == "claimed" and reopened.reopened_at is not None
    # Every exchange is on the ticket.
    said = [(h.author, h.text) for h in reopened.history if h.event is None]
    assert said == [
        ("customer", "Hộp bị móp, sản phẩm trầy xước"),
        ("staff", "Chào chị, em gửi hộp mới ngay hôm nay ạ"),
        ("customer", "Cảm ơn em, chị đợi nhé"),
        ("staff", "Dạ vâng ạ"),
        ("staff", "Đã giao hộp mới và hoàn phí vận chuyển"),
        ("system", "CSAT 2/5"),
    ]


async def test_an_intake_continues_where_it_was_after_a_restart(bot):
    lan, _ = await linked_customer(bot)
    await lan.says("/complaint")
    prompt = await lan.presses("complaint:cat:billing")  # no orders: straight to the text
    assert "mô tả" in prompt.text
    await bot.restart()
    severity = await lan.says("Bị trừ tiền hai lần cho một đơn")
    assert "complaint:sev:low" in [data for _, data in severity.buttons]
    filed = await lan.presses("complaint:sev:medium")
    tickets = await bot.services.complaints.open_tickets()
    assert len(tickets) == 1 and tickets[0].code in filed.text
    ticket = await bot.services.complaints.ticket(tickets[0].id)
    assert (ticket.category, ticket.description) == ("billing", "Bị trừ tiền hai lần cho một đơn")


async def test_an_unlinked_customer_is_asked_to_share_their_phone_first(bot):
    stranger = bot.customer("Hà")
    answer = await stranger.says("/complaint")
    assert "Chia sẻ số điện thoại" in answer.text
    assert answer.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert await bot.services.complaints.open_tickets() == []


async def test_the_menu_button_starts_the_same_form(bot):
    lan, _ = await linked_customer(bot)
    menu = await lan.says("/start")
    form = await lan.presses("menu:complaint", menu)
    assert "complaint:cat:delivery" in [data for _, data in form.buttons]


async def test_an_old_button_of_a_finished_step_gets_a_clear_answer(bot):
    lan, _ = await linked_customer(bot)
    form = await lan.says("/complaint")
    await lan.presses("complaint:cat:warranty", form)
    again = await lan.taps("complaint:cat:billing", form, forged=True)
    assert "đã xong" in again.text
    await lan.says("Máy không lên nguồn")
    await lan.presses("complaint:sev:low")
    closed = await lan.taps("complaint:sev:critical", form, forged=True)
    assert "/complaint" in closed.text
    tickets = await bot.services.complaints.open_tickets()
    assert [(t.category, t.severity) for t in tickets] == [("warranty", "low")]


async def test_cancel_leaves_at_any_step_and_files_nothing(bot):
    lan, _ = await linked_customer(bot)
    await lan.says("/complaint")
    await lan.presses("complaint:cat:delivery")
    cancelled = await lan.says("/cancel")
    assert "Đã huỷ" in cancelled.text
    assert await bot.services.complaints.open_tickets() == []
    answer = await lan.says("Giờ mở cửa?")  # free text is no description any more
    assert "Đã huỷ" not in answer.text and "complaint:sev:low" not in str(answer.buttons)


async def test_a_photo_without_caption_is_a_description_and_text_out_of_place_is_explained(bot):
    lan, _ = await linked_customer(bot)
    await lan.says("/complaint")
    hint = await lan.says("Tôi muốn khiếu nại")  # a button is expected here
    assert "các nút" in hint.text
    await lan.presses("complaint:cat:product_quality", lan.last_with_buttons())
    severity = await lan.sends_photo()
    await lan.presses("complaint:sev:medium", severity)
    ticket = (await bot.services.complaints.open_tickets())[0]
    detail = await bot.services.complaints.ticket(ticket.id)
    assert detail.description is None and detail.photo_file_id


async def test_a_too_long_description_is_refused_and_can_be_written_again(bot):
    lan, _ = await linked_customer(bot)
    await lan.says("/complaint")
    await lan.presses("complaint:cat:other")
    too_long = await lan.says("x" * (bot.settings.max_text_length + 1))
    assert "hơi dài" in too_long.text
    severity = await lan.says("Ngắn gọn thôi")
    assert severity.buttons


async def test_the_form_times_out_with_a_note(bot):
    bot.settings = bot.settings.model_copy(update={"conversation_timeout_minutes": 0.02})
    await bot.restart()
    lan, _ = await linked_customer(bot)
    await lan.says("/complaint")
    note = await lan.next_message(timeout=6)
    assert "hết thời gian" in note.text
    await bot.sandbox.wait_idle(quiet=0.3)  # the conversation ends just after the note
    closed = await lan.taps("complaint:cat:delivery", lan.last_with_buttons())
    assert "/complaint" in closed.text


async def test_without_an_open_ticket_free_text_still_goes_to_the_faq(bot):
    lan, _ = await linked_customer(bot)
    answer = await lan.says("Cửa hàng mở cửa mấy giờ?")
    assert not await bot.services.complaints.open_tickets()
    assert answer.text  # answered by the FAQ, not relayed
    with pytest.raises(TimeoutError):
        await bot.next_staff_message(timeout=0.5)


async def test_an_english_customer_gets_the_form_and_the_ticket_in_english(bot):
    john = bot.customer("John", language="en")
    await make_customer(bot.services, name="John Smith", telegram_user_id=john.id, language="en")
    form = await john.says("/complaint")
    assert "File a complaint" in form.text
    await john.presses("🚚 Delivery")
    await john.says("It came a week late")
    filed = await john.presses("🟢 Minor")
    assert "received" in filed.text and "6 hours" in filed.text


async def test_a_step_whose_form_was_lost_starts_over_instead_of_failing(bot):
    lan, _ = await linked_customer(bot)
    form = await lan.says("/complaint")
    bot.application.user_data[lan.id].pop("complaint_draft")
    lost = await lan.presses("complaint:cat:delivery", form)
    assert "/complaint" in lost.text and "chưa có gì được gửi" in lost.text
    assert await bot.services.complaints.open_tickets() == []
