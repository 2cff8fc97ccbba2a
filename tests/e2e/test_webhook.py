"""The Telegram webhook, attacked as the issue found it open: forged updates without the
secret token or with a wrong one, garbage bodies, oversized bodies. Each is refused with
the right status and nothing reaches the bot. Real HTTP on 127.0.0.1 against the web app
served by uvicorn; the sandbox plays Telegram and delivers real updates with the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.app import build_application, care_programme
from bot.runner import running
from bot.sandbox import Limits, SandboxServer
from care.core.db import Database
from care.core.models import Customer, StoredSecret
from care.core.settings import Settings
from care.services import build_services
from tests.builders import Clock, make_customer
from tests.e2e.conftest import Harness
from tests.integration.servers import free_port

pytestmark = pytest.mark.e2e

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
VICTIM_PHONE = "+84912345678"


class WebhookBot(Harness):
    """The bot as `carebot run --webhook` runs it: web server, webhook, scheduler."""

    async def start(self) -> None:
        hooks = care_programme(self.services, webhook=True)
        self.application = build_application(self.settings, self.services, **hooks)
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(
            running(self.application, self.services, webhook=self.settings.webhook_url)
        )

    @property
    def url(self) -> str:
        assert self.settings.webhook_url is not None
        return self.settings.webhook_url

    async def secret(self) -> str:
        return await self.services.keys.webhook_secret()


@pytest.fixture
async def bot(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[WebhookBot]:
    port = free_port()
    async with SandboxServer(limits=Limits()) as sandbox:
        settings = settings.model_copy(
            update={
                "telegram_base_url": sandbox.base_url,
                "telegram_base_file_url": sandbox.base_file_url,
                "web_port": port,
                "webhook_url": f"http://127.0.0.1:{port}/telegram",
            }
        )
        sandbox.add_group(settings.staff_chat_id, "Nhóm chăm sóc khách hàng")
        services = build_services(settings, database=database, clock=clock)
        harness = WebhookBot(sandbox, services, settings)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def contact_update(attacker_id: int, phone: str) -> dict[str, Any]:
    """The update of the issue's attack: a contact that claims to be the attacker's own
    (its user_id is the sender's) but carries a customer's phone number."""
    chat = {"id": attacker_id, "type": "private", "first_name": "Mallory"}
    return {
        "update_id": 990_001,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": attacker_id, "is_bot": False, "first_name": "Mallory"},
            "contact": {"phone_number": phone, "first_name": "Mallory", "user_id": attacker_id},
        },
    }


async def linked_to(bot: WebhookBot, customer_id: int) -> int | None:
    async with bot.services.db.uow() as uow:
        return await uow.session.scalar(
            select(Customer.telegram_user_id).where(Customer.id == customer_id)
        )


async def still_answering(bot: WebhookBot) -> None:
    """A real customer's message, delivered by the sandbox through the webhook, is answered.

    Updates are handled one at a time in arrival order, so anything queued before it has
    been handled by then: what the attacker did has had every chance to take effect.
    """
    someone = bot.customer("Bình")
    welcome = await someone.says("/start")
    assert "Xin chào Bình" in welcome.text


# --- the webhook works ---------------------------------------------------------------------


async def test_a_customer_writes_and_the_bot_answers_through_the_webhook(bot: WebhookBot) -> None:
    info = bot.sandbox.api.get_webhook_info(_no_params())
    assert info["url"] == bot.url
    assert bot.sandbox.world.webhook_secret == await bot.secret()  # given to setWebhook

    lan = bot.customer("Lan")
    welcome = await lan.says("/start")

    assert "Xin chào Lan" in welcome.text
    assert bot.sandbox.webhook.attempts >= 1  # it came by webhook, not by getUpdates
    assert bot.sandbox.stats.requests["getUpdates"] == 0
    assert "last_error_message" not in bot.sandbox.api.get_webhook_info(_no_params())


async def test_the_generated_webhook_secret_is_stored_once_and_kept(bot: WebhookBot) -> None:
    secret = await bot.secret()
    assert len(secret) >= 32
    async with bot.services.db.uow() as uow:
        stored = await uow.session.scalar(
            select(StoredSecret.value).where(StoredSecret.name == "webhook_secret")
        )
    assert stored == secret
    await bot.restart()
    assert bot.sandbox.world.webhook_secret == secret
    await still_answering(bot)


async def test_a_genuine_update_with_the_secret_is_processed(
    bot: WebhookBot, http: httpx.AsyncClient
) -> None:
    """The control for the forgeries below: with the secret, this very update links the
    account, so their refusal is the secret's doing."""
    victim = await make_customer(bot.services, phone=VICTIM_PHONE)
    mallory = bot.customer("Mallory")
    mark = bot.sandbox.mark()

    answer = await http.post(
        bot.url,
        json=contact_update(mallory.id, VICTIM_PHONE),
        headers={SECRET_HEADER: await bot.secret()},
    )

    assert answer.status_code == 200
    reply = await bot.sandbox.wait_for(mallory.id, after=mark)
    assert "Đã liên kết" in reply.text
    assert await linked_to(bot, victim.id) == mallory.id


# --- forged updates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no secret"),
        pytest.param({SECRET_HEADER: "wrong-secret"}, id="wrong secret"),
        pytest.param({SECRET_HEADER: ""}, id="empty secret"),
        pytest.param({SECRET_HEADER: "x" * 300}, id="long secret"),
    ],
)
async def test_a_forged_update_without_the_right_secret_is_refused_and_changes_nothing(
    bot: WebhookBot, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    victim = await make_customer(bot.services, phone=VICTIM_PHONE)
    mallory = bot.customer("Mallory")

    forged = contact_update(mallory.id, VICTIM_PHONE)

    answer = await http.post(bot.url, json=forged, headers=headers)

    assert answer.status_code == 403
    await still_answering(bot)
    assert await linked_to(bot, victim.id) is None
    assert mallory.messages == []  # the bot never answered the forged update


async def test_a_secret_that_differs_only_in_case_or_in_its_last_character_is_wrong(
    bot: WebhookBot, http: httpx.AsyncClient
) -> None:
    secret = await bot.secret()
    last = "A" if secret[-1] != "A" else "B"
    near_misses = [secret.swapcase(), secret[:-1] + last, secret[:-1]]
    for guess in near_misses:
        answer = await http.post(bot.url, json={"update_id": 1}, headers={SECRET_HEADER: guess})
        assert answer.status_code == 403, guess


async def test_a_secret_header_with_bytes_beyond_ascii_is_a_403_not_a_crash(
    bot: WebhookBot,
) -> None:
    status = await raw_post(
        bot, body=b'{"update_id": 1}', secret=b"\xc3\xa9\xff" + (await bot.secret()).encode()
    )
    assert status == 403


async def test_only_the_webhook_s_path_takes_updates(
    bot: WebhookBot, http: httpx.AsyncClient
) -> None:
    base = bot.url.rsplit("/", 1)[0]
    headers = {SECRET_HEADER: await bot.secret()}
    assert (await http.post(f"{base}/", json={"update_id": 1}, headers=headers)).status_code == 404
    assert (await http.post(f"{base}/other", json={}, headers=headers)).status_code == 404
    assert (await http.get(bot.url, headers=headers)).status_code == 405


# --- malformed and oversized bodies ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00{", id="not utf-8"),
        pytest.param(b"[]", id="a list"),
        pytest.param(b'"update"', id="a string"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested too deep"),
        pytest.param(b'{"update_id": 1, "message": "hello"}', id="message not an object"),
        pytest.param(b'{"update_id": 1, "message": {"chat": 5}}', id="message without fields"),
        pytest.param(b'{"message": {}}', id="no update_id"),
    ],
)
async def test_a_malformed_body_is_a_400_without_a_traceback(
    bot: WebhookBot, http: httpx.AsyncClient, body: bytes
) -> None:
    answer = await http.post(
        bot.url,
        content=body,
        headers={SECRET_HEADER: await bot.secret(), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert "Traceback" not in answer.text and "Error" not in answer.text
    await still_answering(bot)


async def test_a_body_announced_over_a_megabyte_is_refused_before_it_is_sent(
    bot: WebhookBot,
) -> None:
    """30 MB announced, 64 KB sent: the answer comes without waiting for the rest."""
    status = await raw_post(
        bot,
        body=b"{" + b" " * 65_535,
        secret=(await bot.secret()).encode(),
        content_length=30 * 1024 * 1024,
    )
    assert status == 413
    await still_answering(bot)


async def test_a_chunked_body_over_a_megabyte_is_refused_once_it_passes_the_limit(
    bot: WebhookBot,
) -> None:
    status = await raw_post(
        bot, body=b" " * (1024 * 1024 + 65_536), secret=(await bot.secret()).encode()
    )
    assert status == 413


async def test_an_oversized_body_without_the_secret_is_refused_for_the_secret(
    bot: WebhookBot,
) -> None:
    status = await raw_post(bot, body=b"{", secret=None, content_length=30 * 1024 * 1024)
    assert status == 403


async def test_an_update_of_almost_a_megabyte_is_still_read(
    bot: WebhookBot, http: httpx.AsyncClient
) -> None:
    """The limit refuses only what is over it: a legitimate update padded to 1 MB passes."""
    padding = " " * (1024 * 1024 - 200)
    body = json.dumps({"update_id": 5, "padding": padding}).encode()
    assert len(body) <= 1024 * 1024
    answer = await http.post(bot.url, content=body, headers={SECRET_HEADER: await bot.secret()})
    assert answer.status_code == 200


# --- where it listens --------------------------------------------------------------------------


def test_the_web_server_listens_on_loopback_unless_told_otherwise() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.web_listen, settings.web_port) == ("127.0.0.1", 8080)


async def test_the_running_server_is_reachable_on_loopback_only(bot: WebhookBot) -> None:
    server = bot.application.bot_data["care_web"]
    assert server.host == "127.0.0.1"
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.close()
    other = _non_loopback_address()
    if other is None:
        pytest.skip("this machine has no address besides loopback to try")
    with pytest.raises(OSError):
        await asyncio.open_connection(other, server.port)


# --- `carebot run --webhook`, the command a shop runs ----------------------------------------


async def test_carebot_run_webhook_serves_real_updates_and_stops_cleanly_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    carebot = Path(sys.executable).parent / "carebot"
    port = free_port()
    async with SandboxServer(limits=Limits()) as sandbox:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")},
            "CAREBOT_DATABASE_URL": settings.database_url,
            "CAREBOT_TELEGRAM_TOKEN": "123456:TEST-token",
            "CAREBOT_TELEGRAM_BASE_URL": sandbox.base_url,
            "CAREBOT_WEB_PORT": str(port),
            "CAREBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
            "CAREBOT_WEBHOOK_SECRET": "shop-chosen_secret-123",
            "CAREBOT_OUTBOX_DIR": str(tmp_path / "outbox"),
        }
        if settings.database_schema:
            env["CAREBOT_DATABASE_SCHEMA"] = settings.database_schema
        process = await asyncio.create_subprocess_exec(
            str(carebot),
            "run",
            "--webhook",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await sandbox.world.wait_until(lambda: sandbox.world.webhook_url, 60)
            assert sandbox.world.webhook_url == f"http://127.0.0.1:{port}/telegram/hook"
            assert sandbox.world.webhook_secret == "shop-chosen_secret-123"
            lan = sandbox.add_user(7_300_001, "Lan")
            sandbox.send_text(lan, "/start")
            welcome = await sandbox.wait_for(lan.id, timeout=30)
            assert "Xin chào Lan" in welcome.text
            assert sandbox.stats.requests["getUpdates"] == 0
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
        log = output.decode(errors="replace")
        assert process.returncode == 0, log
        assert "Traceback" not in log
        assert "shop-chosen_secret-123" not in log


# --- helpers ------------------------------------------------------------------------------------


def _no_params() -> Any:
    from bot.sandbox.params import Params

    return Params({})


def _non_loopback_address() -> str | None:
    """An address of this machine other than 127.0.0.1, if it has one (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only decides the source
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def raw_post(
    bot: WebhookBot,
    *,
    body: bytes,
    secret: bytes | None,
    content_length: int | None = None,
) -> int:
    """POST over a bare socket, for what HTTP clients will not send: a Content-Length the
    body does not keep, a chunked body, header bytes beyond ASCII. Returns the status."""
    server = bot.application.bot_data["care_web"]
    path = bot.url.split(str(server.port), 1)[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = [f"POST {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Content-Type: application/json"]
    if secret is not None:
        head.append(SECRET_HEADER.encode() + b": " + secret)
    if content_length is not None:
        head.append(f"Content-Length: {content_length}".encode())
        payload = body
    else:
        head.append(b"Transfer-Encoding: chunked")
        chunk = 65_536
        payload = b"".join(
            f"{len(body[i : i + chunk]):x}\r\n".encode() + body[i : i + chunk] + b"\r\n"
            for i in range(0, len(body), chunk)
        )
        if len(body) <= 1024 * 1024:
            payload += b"0\r\n\r\n"
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + payload)
        with contextlib.suppress(ConnectionError):  # it may answer before reading it all
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])
