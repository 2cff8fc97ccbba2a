"""The sandbox Bot API server, driven by the real python-telegram-bot over HTTP on loopback."""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
import warnings
from collections.abc import AsyncIterator

import aiohttp
import aiohttp.web
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.sandbox import Limits, SandboxServer

TOKEN = "123456:sandbox-Token_1"
LAN = 1001
STAFF = -1001000


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        server.add_user(LAN, "Lan", last_name="Nguyễn", username="lan_ng")
        yield server


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url) as bot:
        yield bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        f"Bạn nói: <b>{update.effective_message.text}</b>",
        parse_mode="HTML",
        reply_markup=keyboard(("Có", "yes"), ("Không", "no")),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"Đã chọn {query.data}", show_alert=query.data == "no")
    await query.edit_message_text(f"Bạn chọn: {query.data}")


@pytest.fixture
async def echo_app(sandbox: SandboxServer) -> AsyncIterator[Application]:
    """A minimal real Application, long polling the sandbox, that echoes text."""
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        yield app
        await app.updater.stop()
        await app.stop()


def said(description: str) -> re.Pattern[str]:
    """Matches a description however python-telegram-bot re-capitalised it."""
    return re.compile(re.escape(description), re.IGNORECASE)


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


# --- the real Application through long polling ------------------------------------------


async def test_a_user_message_reaches_the_app_and_its_echo_comes_back(
    sandbox: SandboxServer, echo_app: Application
) -> None:
    sandbox.send_text(LAN, "Xin chào")

    reply = await sandbox.wait_for(LAN)

    assert reply.text == "Bạn nói: Xin chào"
    assert reply.raw_text == "Bạn nói: <b>Xin chào</b>"
    assert reply.entities == [{"type": "bold", "offset": 9, "length": 8}]
    assert reply.buttons == [("Có", "yes"), ("Không", "no")]


async def test_a_button_press_reaches_the_callback_handler_and_its_answer_is_recorded(
    sandbox: SandboxServer, echo_app: Application
) -> None:
    sandbox.send_text(LAN, "Đặt hàng")
    question = await sandbox.wait_for(LAN)

    query_id = sandbox.press_button(LAN, question, "no")
    answer = await sandbox.wait_answer(query_id)
    edited = await sandbox.wait_for(LAN, lambda m: m.edited)

    assert (answer.text, answer.show_alert) == ("Đã chọn no", True)
    assert edited is question
    assert edited.text == "Bạn chọn: no"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert [revision.text for revision in edited.history] == ["Bạn nói: Đặt hàng"]
    assert sandbox.callback_answers[query_id] == answer


async def test_pressing_a_button_the_message_does_not_have_is_a_test_mistake(
    sandbox: SandboxServer, bot: Bot
) -> None:
    message = await bot.send_message(LAN, "Chọn", reply_markup=keyboard(("A", "a")))
    with pytest.raises(ValueError, match="no button with data 'b'"):
        sandbox.press_button(LAN, sandbox.sent(LAN)[0], "b")
    assert message.message_id == sandbox.sent(LAN)[0].message_id


async def test_wait_idle_lets_a_test_assert_that_the_bot_said_nothing(
    sandbox: SandboxServer, echo_app: Application
) -> None:
    sandbox.send_text(LAN, "/lenh_khong_co")  # the echo app has no command handlers

    await sandbox.wait_idle()

    assert not sandbox.world.updates  # fetched and confirmed
    assert sandbox.sent(LAN) == []


# --- strictness --------------------------------------------------------------------------


async def test_bad_html_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=said('end tag corresponding to start tag "b"')):
        await bot.send_message(LAN, "<b>Xin chào", parse_mode="HTML")
    with pytest.raises(BadRequest, match=said('Unsupported start tag "br/"')):
        await bot.send_message(LAN, "dòng 1<br/>dòng 2", parse_mode="HTML")


async def test_unescaped_user_input_in_html_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=said('"&" at byte offset 11 must be escaped')):
        await bot.send_message(LAN, "Công ty A & B", parse_mode="HTML")


@pytest.mark.parametrize(
    ("text", "parse_mode"),
    [
        ("a" * 4096, None),
        (f"<b>{'a' * 4096}</b>", "HTML"),  # 4103 characters sent, 4096 after parsing
        ("&lt;" * 4096, "HTML"),
        ("😀" * 2048, None),  # 2048 characters, 4096 UTF-16 code units
    ],
)
async def test_4096_after_entity_parsing_is_accepted(
    bot: Bot, text: str, parse_mode: str | None
) -> None:
    message = await bot.send_message(LAN, text, parse_mode=parse_mode)
    assert message.text is not None and len(message.text.encode("utf-16-le")) == 2 * 4096


@pytest.mark.parametrize("text", ["a" * 4097, "😀" * 2048 + "a", "&amp;" * 4097])
async def test_more_than_4096_is_a_bad_request(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=said("Message is too long")):
        await bot.send_message(LAN, text, parse_mode="HTML")


@pytest.mark.parametrize("text", ["   ", "<b></b>", "\n<i> </i>\n"])
async def test_text_that_is_empty_after_parsing_is_a_bad_request(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=said("Message text is empty")):
        await bot.send_message(LAN, text, parse_mode="HTML")


async def test_a_caption_over_1024_is_a_bad_request(sandbox: SandboxServer, bot: Bot) -> None:
    photo = sandbox.send_photo(LAN)["photo"][-1]["file_id"]
    with pytest.raises(BadRequest, match=said("Message caption is too long")):
        await bot.send_photo(LAN, photo, caption="a" * 1025)


async def test_callback_data_over_64_bytes_is_button_data_invalid(bot: Bot) -> None:
    await bot.send_message(LAN, "ok", reply_markup=keyboard(("A", "đ" * 32)))  # 64 bytes
    with pytest.raises(BadRequest, match=said("BUTTON_DATA_INVALID")):
        await bot.send_message(LAN, "quá dài", reply_markup=keyboard(("A", "đ" * 32 + "x")))


async def test_an_inline_button_needs_exactly_one_action(sandbox: SandboxServer) -> None:
    url = f"{sandbox.base_url}{TOKEN}/sendMessage"
    no_action = {"inline_keyboard": [[{"text": "A"}]]}
    two_actions = {
        "inline_keyboard": [[{"text": "A", "callback_data": "a", "url": "https://x.vn"}]]
    }
    async with aiohttp.ClientSession() as http:
        for markup, expected in [(no_action, "Text buttons are unallowed"), (two_actions, "one")]:
            body = {"chat_id": LAN, "text": "x", "reply_markup": markup}
            async with http.post(url, json=body) as response:
                answer = await response.json()
            assert response.status == 400
            assert expected in answer["description"]


async def test_a_blocked_user_is_forbidden_and_the_bot_hears_of_it(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.block(LAN)

    with pytest.raises(Forbidden, match=said("bot was blocked by the user")):
        await bot.send_message(LAN, "Khuyến mãi")
    (update,) = await bot.get_updates()

    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    sandbox.unblock(LAN)
    await bot.send_message(LAN, "Chào mừng trở lại")


async def test_a_deactivated_user_is_forbidden(sandbox: SandboxServer, bot: Bot) -> None:
    sandbox.deactivate(LAN)
    with pytest.raises(Forbidden, match=said("user is deactivated")):
        await bot.send_message(LAN, "Xin chào")


async def test_an_unknown_chat_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=said("Chat not found")):
        await bot.send_message(424242, "Xin chào")


async def test_replying_to_a_message_that_does_not_exist_is_a_bad_request(
    sandbox: SandboxServer, bot: Bot
) -> None:
    asked = sandbox.send_text(LAN, "Giá bao nhiêu?")
    reply = await bot.send_message(
        LAN, "150.000 ₫", reply_parameters=ReplyParameters(asked["message_id"])
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Giá bao nhiêu?"
    with pytest.raises(BadRequest, match=said("Message to be replied not found")):
        await bot.send_message(LAN, "?", reply_parameters=ReplyParameters(999))


async def test_another_token_is_unauthorized(sandbox: SandboxServer, bot: Bot) -> None:
    await bot.get_me()
    intruder = Bot("999:other", base_url=sandbox.base_url)
    with pytest.raises(InvalidToken):
        await intruder.initialize()  # asks getMe
    await intruder.shutdown()


# --- editing -----------------------------------------------------------------------------


async def test_editing_to_the_same_text_and_markup_is_not_modified(
    sandbox: SandboxServer, bot: Bot
) -> None:
    buttons = keyboard(("Xác nhận", "ok"))
    message = await bot.send_message(
        LAN, "<b>Đơn hàng</b>", parse_mode="HTML", reply_markup=buttons
    )

    with pytest.raises(BadRequest, match=said("Message is not modified")):
        await message.edit_text("<b>Đơn hàng</b>", parse_mode="HTML", reply_markup=buttons)
    await message.edit_text("<b>Đơn hàng</b> đã giao", parse_mode="HTML", reply_markup=buttons)

    (sent,) = sandbox.sent(LAN)
    assert sent.edited and sent.text == "Đơn hàng đã giao" and sent.buttons == [("Xác nhận", "ok")]


async def test_editing_or_deleting_an_unknown_message_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=said("Message to edit not found")):
        await bot.edit_message_text("x", chat_id=LAN, message_id=77)
    with pytest.raises(BadRequest, match=said("Message to delete not found")):
        await bot.delete_message(LAN, 77)


async def test_a_deleted_message_is_marked_and_can_no_longer_be_edited(
    sandbox: SandboxServer, bot: Bot
) -> None:
    message = await bot.send_message(LAN, "Tạm thời")
    await message.delete()
    assert sandbox.sent(LAN)[0].deleted
    with pytest.raises(BadRequest, match=said("Message to edit not found")):
        await message.edit_text("Sửa")


# --- flood limits -------------------------------------------------------------------------


async def test_flooding_one_chat_is_answered_retry_after(sandbox: SandboxServer, bot: Bot) -> None:
    for n in range(3):
        await bot.send_message(LAN, f"Tin {n}")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(LAN, "Tin 4")

    assert retry_seconds(raised.value) >= 1
    assert sandbox.stats.too_many_requests == 1
    assert len(sandbox.sent(LAN)) == 3


async def test_more_than_30_messages_a_second_overall_is_answered_retry_after(
    sandbox: SandboxServer, bot: Bot
) -> None:
    for user_id in range(2001, 2032):
        sandbox.add_user(user_id, f"Khách {user_id}")
    for user_id in range(2001, 2031):
        await bot.send_message(user_id, "Chúc mừng năm mới")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(2031, "Chúc mừng năm mới")
    assert retry_seconds(raised.value) >= 1


async def test_reading_updates_and_answering_buttons_are_not_counted(
    sandbox: SandboxServer, bot: Bot
) -> None:
    await bot.send_message(LAN, "Chọn", reply_markup=keyboard(("A", "a")))
    for _ in range(40):
        await bot.get_updates()
    query_id = sandbox.press_button(LAN, sandbox.sent(LAN)[0], "a")
    await bot.answer_callback_query(query_id)
    assert sandbox.stats.too_many_requests == 0


async def test_limits_can_be_switched_off() -> None:
    async with SandboxServer(limits=Limits(enabled=False)) as sandbox:
        sandbox.add_user(LAN, "Lan")
        async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
            for n in range(10):
                await bot.send_message(LAN, f"Tin {n}")
        assert len(sandbox.sent(LAN)) == 10
        assert sandbox.stats.too_many_requests == 0


# --- updates, files, chats ------------------------------------------------------------------


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    sandbox: SandboxServer, bot: Bot
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    sandbox.send_text(LAN, "/start ref_123")

    (update,) = await poll

    assert loop.time() - started < 2
    assert update.message is not None and update.message.text == "/start ref_123"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")


async def test_a_second_bot_instance_polling_ends_the_first_with_a_conflict(
    sandbox: SandboxServer, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    async with Bot(TOKEN, base_url=sandbox.base_url) as second:
        await second.get_updates()
    with pytest.raises(Conflict, match=said("terminated by other getUpdates request")):
        await first


async def test_confirmed_updates_are_not_delivered_again(sandbox: SandboxServer, bot: Bot) -> None:
    sandbox.send_text(LAN, "một")
    sandbox.send_text(LAN, "hai")
    first, second = await bot.get_updates()
    assert second.update_id == first.update_id + 1
    assert await bot.get_updates(offset=second.update_id + 1) == ()


async def test_allowed_updates_filters_what_is_created_afterwards(
    sandbox: SandboxServer, bot: Bot
) -> None:
    await bot.send_message(LAN, "Chọn", reply_markup=keyboard(("A", "a")))
    await bot.get_updates(allowed_updates=["message"])
    sandbox.press_button(LAN, sandbox.sent(LAN)[0], "a")
    sandbox.send_text(LAN, "tin nhắn")
    (update,) = await bot.get_updates()
    assert update.message is not None


async def test_a_user_photo_can_be_sent_on_to_the_staff_group(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_group(STAFF, "Nhân viên CSKH")
    sandbox.send_photo(LAN, caption="Hàng bị vỡ")
    (update,) = await bot.get_updates()
    assert update.message is not None
    largest = update.message.photo[-1]

    forwarded = await bot.send_photo(
        STAFF, largest.file_id, caption="<b>Khiếu nại</b> từ Lan", parse_mode="HTML"
    )
    downloaded = await (await bot.get_file(largest.file_id)).download_as_bytearray()

    assert [p.file_id for p in forwarded.photo] == [p.file_id for p in update.message.photo]
    assert downloaded.startswith(b"\x89PNG")
    (sent,) = sandbox.sent(STAFF)
    assert sent.text == "Khiếu nại từ Lan" and sent.photo is not None


async def test_an_uploaded_document_gets_a_file_id_that_can_be_reused(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_group(STAFF, "Nhân viên CSKH")
    report = await bot.send_document(STAFF, b"ma,ten\nKH1,Lan\n", filename="bao_cao.csv")
    assert report.document is not None and report.document.file_name == "bao_cao.csv"
    again = await bot.send_document(LAN, report.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == report.document.file_unique_id
    with pytest.raises(BadRequest, match=said("IMAGE_PROCESS_FAILED")):
        await bot.send_photo(LAN, b"not an image")


async def test_a_shared_contact_arrives_with_the_users_own_id(
    sandbox: SandboxServer, bot: Bot
) -> None:
    ask = ReplyKeyboardMarkup([[KeyboardButton("Gửi số điện thoại", request_contact=True)]])
    await bot.send_message(LAN, "Cho xin số điện thoại", reply_markup=ask)
    sandbox.share_contact(LAN, "84901234567")

    (update,) = await bot.get_updates()

    assert sandbox.sent(LAN)[0].keyboard == ["Gửi số điện thoại"]
    assert update.message is not None and update.message.contact is not None
    assert (update.message.contact.phone_number, update.message.contact.user_id) == (
        "84901234567",
        LAN,
    )


async def test_commands_are_kept_per_language(sandbox: SandboxServer, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")], language_code="vi")
    await bot.set_my_commands([("start", "Start")], language_code="en")

    assert sandbox.commands == {
        "vi": [("start", "Bắt đầu"), ("help", "Trợ giúp")],
        "en": [("start", "Start")],
    }
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    with pytest.raises(BadRequest, match=said("BOT_COMMAND_INVALID")):
        await bot.set_my_commands([("Start", "viết hoa")])


async def test_group_members_and_the_bot_have_their_status(
    sandbox: SandboxServer, bot: Bot
) -> None:
    group = sandbox.add_group(STAFF, "Nhân viên CSKH")
    sandbox.add_member(group, sandbox.add_user(3001, "Minh"), admin=True)
    sandbox.add_member(group, sandbox.add_user(3002, "Hà"))
    me = await bot.get_me()

    statuses = [(await bot.get_chat_member(STAFF, u)).status for u in (3001, 3002, LAN, me.id)]

    assert statuses == ["administrator", "member", "left", "administrator"]


async def test_a_command_in_a_group_may_name_the_bot(sandbox: SandboxServer, bot: Bot) -> None:
    group = sandbox.add_group(STAFF, "Nhân viên CSKH", bot_is_admin=False)
    sandbox.add_member(group, sandbox.add_user(3001, "Minh"))
    sandbox.send_text(3001, "chuyện riêng của nhóm", chat_id=STAFF)  # privacy mode hides it
    sandbox.send_text(3001, "/baocao@carebot_sandbox_bot tuần", chat_id=STAFF)

    (update,) = await bot.get_updates()

    assert update.message is not None
    assert update.message.entities[0].length == len("/baocao@carebot_sandbox_bot")


async def test_a_callback_query_can_be_answered_once(sandbox: SandboxServer, bot: Bot) -> None:
    await bot.send_message(LAN, "Chọn", reply_markup=keyboard(("A", "a")))
    query_id = sandbox.press_button(LAN, sandbox.sent(LAN)[0], "a")
    await bot.answer_callback_query(query_id, "Đã nhận")
    with pytest.raises(BadRequest, match=said("Query is too old")):
        await bot.answer_callback_query(query_id)


async def test_wait_for_reports_what_the_chat_got_when_it_times_out(
    sandbox: SandboxServer, bot: Bot
) -> None:
    await bot.send_message(LAN, "Xin chào")
    with pytest.raises(TimeoutError, match="Xin chào"):
        await sandbox.wait_for(LAN, lambda m: "Tạm biệt" in m.text, timeout=0.2)


# --- the wire format ----------------------------------------------------------------------


async def test_unknown_methods_get_telegrams_404_envelope(sandbox: SandboxServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.base_url}{TOKEN}/sendTelepathy") as response,
    ):
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


@pytest.mark.parametrize("encoding", ["json", "form", "query"])
async def test_parameters_are_read_from_json_forms_and_the_query_string(
    sandbox: SandboxServer, encoding: str
) -> None:
    url = f"{sandbox.base_url}{TOKEN}/sendMessage"
    params = {"chat_id": str(LAN), "text": "<i>chào</i>", "parse_mode": "HTML"}
    request = {
        "json": {"json": {**params, "chat_id": LAN}},
        "form": {"data": params},
        "query": {"params": params},
    }[encoding]
    async with aiohttp.ClientSession() as http, http.post(url, **request) as response:
        answer = await response.json()
    assert answer["ok"] is True
    assert answer["result"]["text"] == "chào"
    assert answer["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 4}]
    assert answer["result"]["from"]["id"] == 123456


async def test_flood_answers_carry_retry_after_in_parameters(sandbox: SandboxServer) -> None:
    url = f"{sandbox.base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.post(url, json={"chat_id": LAN, "text": "x"}) as response:
                assert response.status == 200
        async with http.post(url, json={"chat_id": LAN, "text": "x"}) as response:
            answer = await response.json()
    assert response.status == 429
    assert answer["error_code"] == 429
    retry_after = answer["parameters"]["retry_after"]
    assert isinstance(retry_after, int) and retry_after >= 1
    assert answer["description"] == f"Too Many Requests: retry after {retry_after}"


# --- webhooks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "secret", "refusal"),
    [
        ("http://shop.example/telegram", None, "An HTTPS URL must be provided"),
        ("https://shop.example/telegram", "has spaces", "secret token contains unallowed"),
        ("https://shop.example/telegram", "x" * 257, "secret token contains unallowed"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    bot: Bot, url: str, secret: str | None, refusal: str
) -> None:
    with pytest.raises(BadRequest, match=said(refusal)):
        await bot.set_webhook(url, secret_token=secret)


async def test_updates_are_posted_to_the_webhook_with_the_secret_until_it_answers_2xx(
    sandbox: SandboxServer, bot: Bot
) -> None:
    received: list[tuple[str | None, dict]] = []
    answers = [403, 200]

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return aiohttp.web.Response(status=answers.pop(0) if answers else 200)

    app = aiohttp.web.Application()
    app.router.add_post("/hook", hook)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret_token")
        sandbox.send_text(LAN, "xin chào")
        await sandbox.world.wait_until(lambda: len(received) >= 2 and not sandbox.world.updates, 5)
    finally:
        await runner.cleanup()

    (first_secret, first), (second_secret, second) = received
    assert first_secret == second_secret == "s3cret_token"
    assert first == second and first["message"]["text"] == "xin chào"  # the refused one, again
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
    assert info.pending_update_count == 0
    with pytest.raises(Conflict, match=said("webhook is active")):
        await bot.get_updates()
