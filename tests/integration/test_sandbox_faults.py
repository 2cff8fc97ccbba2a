"""The sandbox having a bad moment on request: 5xx answers and dropped connections, seen
by the real python-telegram-bot Bot (no retries of its own) over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.sandbox import SandboxServer

TOKEN = "123456:sandbox-Token_1"
LAN = 1001


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        server.add_user(LAN, "Lan")
        yield server


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url) as bot:
        yield bot


async def test_a_spell_of_500s_on_one_method_spoils_that_many_requests(
    sandbox: SandboxServer, bot: Bot
) -> None:
    fault = sandbox.fail_requests(requests=2, methods=["sendMessage"])
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(LAN, "Xin chào")
        assert (await bot.get_me()).is_bot  # other methods answer as usual
    assert sandbox.sent(LAN) == []  # nothing of a spoilt request is carried out
    await bot.send_message(LAN, "Xin chào")
    assert [m.text for m in sandbox.sent(LAN)] == ["Xin chào"]
    assert fault.hits == 2
    assert sandbox.stats.errors["sendMessage", "Internal Server Error"] == 2


async def test_a_spell_of_500s_for_some_seconds_ends_by_itself(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.fail_requests(seconds=0.3)
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(NetworkError):
        await bot.send_message(LAN, "Xin chào")
    await asyncio.sleep(0.35)
    await bot.send_message(LAN, "Xin chào")
    assert len(sandbox.sent(LAN)) == 1


async def test_the_bot_api_answers_500_in_json_and_the_front_end_502_in_html(
    sandbox: SandboxServer,
) -> None:
    sandbox.fail_requests(requests=1, status=500)
    sandbox.fail_requests(requests=1, status=502)
    url = f"{sandbox.base_url}{TOKEN}/getMe"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as answer:
            assert answer.status == 500
            assert await answer.json() == {
                "ok": False,
                "error_code": 500,
                "description": "Internal Server Error",
            }
        async with http.get(url) as answer:
            assert answer.status == 502
            assert answer.content_type == "text/html"
            assert "502 Bad Gateway" in await answer.text()
        async with http.get(url) as answer:
            assert answer.status == 200


async def test_a_dropped_connection_leaves_the_client_without_an_answer(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.drop_connections(requests=1, methods=["sendMessage"])
    with pytest.raises(NetworkError, match="RemoteProtocolError"):
        await bot.send_message(LAN, "Một")
    assert sandbox.sent(LAN) == []  # dropped before it was carried out
    assert sandbox.stats.dropped["sendMessage"] == 1


async def test_a_connection_dropped_after_the_send_leaves_the_message_delivered(
    sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.drop_connections(requests=1, methods=["sendMessage"], processed=True)
    with pytest.raises(NetworkError):
        await bot.send_message(LAN, "Một")
    assert [m.text for m in sandbox.sent(LAN)] == ["Một"]  # the client cannot know


async def test_heal_ends_every_fault_at_once(sandbox: SandboxServer, bot: Bot) -> None:
    fault = sandbox.fail_requests(seconds=60)
    sandbox.drop_connections(seconds=60)
    sandbox.heal()
    assert (await bot.get_me()).is_bot
    assert fault.hits == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"seconds": 0},
        {"requests": 0},
        {"requests": 1, "methods": []},
        {"requests": 1, "status": 429},
    ],
)
async def test_a_fault_must_say_when_it_ends_and_be_a_server_error(
    sandbox: SandboxServer, kwargs: dict
) -> None:
    with pytest.raises(ValueError):
        sandbox.fail_requests(**kwargs)
