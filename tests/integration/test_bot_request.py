"""Requests to the Bot API survive a hiccup: the real Bot with ``RetryingRequest`` against the
sandbox while it answers 5xx, drops connections or is not there at all."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from bot.request import RetryingRequest, repeatable
from bot.sandbox import SandboxServer

TOKEN = "123456:sandbox-Token_1"
LAN = 1001


def retrying(attempts: int = 4) -> RetryingRequest:
    return RetryingRequest(attempts=attempts, first_delay=0.05, max_delay=0.2)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        server.add_user(LAN, "Lan")
        yield server


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url, request=retrying()
    ) as bot:
        yield bot


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_message_answered_with_a_server_error_is_sent_again_and_arrives_once(
    sandbox: SandboxServer, bot: Bot, status: int
) -> None:
    sandbox.fail_requests(requests=2, methods=["sendMessage"], status=status)
    message = await bot.send_message(LAN, "Cảm ơn bạn!")
    assert [m.message_id for m in sandbox.sent(LAN)] == [message.message_id]
    assert sandbox.stats.requests["sendMessage"] == 3


async def test_a_spell_longer_than_the_retries_ends_in_the_error(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.fail_requests(seconds=30, methods=["sendMessage"])
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(LAN, "Cảm ơn bạn!")
    assert sandbox.stats.requests["sendMessage"] == 4  # the attempts, no more
    assert sandbox.sent(LAN) == []


async def test_a_refusal_is_not_retried(sandbox: SandboxServer, bot: Bot) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(LAN, "<b>không đóng thẻ", parse_mode="HTML")
    assert sandbox.stats.requests["sendMessage"] == 1


@pytest.mark.parametrize("processed", [False, True])
async def test_a_message_whose_answer_was_lost_is_not_sent_again(
    sandbox: SandboxServer, bot: Bot, processed: bool
) -> None:
    """It may have arrived: sending it again could make the customer read it twice."""
    sandbox.drop_connections(requests=1, methods=["sendMessage"], processed=processed)
    with pytest.raises(NetworkError):
        await bot.send_message(LAN, "Cảm ơn bạn!")
    assert sandbox.stats.requests["sendMessage"] == 1
    assert len(sandbox.sent(LAN)) == (1 if processed else 0)


async def test_an_edit_whose_answer_was_lost_is_not_repeated(
    sandbox: SandboxServer, bot: Bot
) -> None:
    message = await bot.send_message(LAN, "Bước 1")
    sandbox.drop_connections(requests=1, methods=["editMessageText"], processed=True)
    with pytest.raises(NetworkError):
        await bot.edit_message_text("Bước 2", chat_id=LAN, message_id=message.message_id)
    assert sandbox.stats.requests["editMessageText"] == 1


async def test_a_read_whose_answer_was_lost_is_asked_again(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.drop_connections(requests=1, methods=["getChat"], processed=True)
    assert (await bot.get_chat(LAN)).first_name == "Lan"
    assert sandbox.stats.requests["getChat"] == 2
    assert sandbox.stats.dropped["getChat"] == 1


async def test_a_bot_started_while_telegram_is_unreachable_gets_through_when_it_is_back() -> None:
    """Nothing listens yet: the connection is refused, nothing can have been carried out,
    so even a message is tried again."""
    with socket.socket() as probe:  # a free port, closed again: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    bot = Bot(
        TOKEN,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=RetryingRequest(attempts=8, first_delay=0.05, max_delay=0.2),
    )
    server = SandboxServer(port=port)
    server.add_user(LAN, "Lan")
    sending = asyncio.ensure_future(bot.send_message(LAN, "Xin chào"))
    await asyncio.sleep(0.2)
    assert not sending.done()
    await server.start()
    try:
        message = await asyncio.wait_for(sending, 5)
        assert [m.message_id for m in server.sent(LAN)] == [message.message_id]
    finally:
        await server.stop()
        await bot.shutdown()


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("getMe", True),
        ("getUpdates", True),
        ("setMyCommands", True),
        ("sendChatAction", True),
        ("sendMessage", False),
        ("sendPhoto", False),
        ("editMessageText", False),
        ("answerCallbackQuery", False),
        ("deleteMessage", False),
    ],
)
def test_which_methods_may_be_carried_out_twice(method: str, expected: bool) -> None:
    assert repeatable(method) is expected
