"""The outbox dispatcher against a strict local Telegram (the sandbox) and a real SMTP server:
HTML messages with buttons, the interaction log, blocked users falling back to e-mail,
opt-outs and quiet hours at send time, 429 and network errors, and crash recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.sandbox import Limits, SandboxServer
from care.core.models import Customer, Interaction, MessageCategory, OutboxMessage, OutboxStatus
from care.outreach.outbox import Delivered, Message
from care.services import Services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel, SmtpChannel
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN, make_customer, outbox_row
from tests.integration.servers import SmtpRecorder, free_port, smtp_settings


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=sandbox.base_url) as real_bot:
        yield real_bot


@pytest.fixture
async def with_smtp(
    services: Services, bot: Bot, smtp_server: tuple[SmtpRecorder, int]
) -> AsyncIterator[tuple[Dispatcher, SmtpRecorder]]:
    """A dispatcher sending to the sandbox Telegram and to a real SMTP server, and that
    server."""
    server, port = smtp_server
    dispatcher = dispatcher_for(services, bot, port)
    yield dispatcher, server
    await dispatcher.close()


def dispatcher_for(services: Services, bot: Bot, port: int | None = None, **kw: Any) -> Dispatcher:
    telegram = TelegramChannel(bot, messages_per_second=kw.pop("rate", 28.0))
    email: Any = EmlDirectoryChannel(services.settings.outbox_dir)
    if port is not None:
        email = SmtpChannel(smtp_settings(services.settings, port))
    return Dispatcher(services, telegram=telegram, email=email)


async def queue(
    services: Services,
    who: Customer,
    key: str,
    *,
    category: str = MessageCategory.MARKETING,
    body: str = "Chào <b>bạn</b>!",
    markup: dict | None = None,
) -> None:
    async with services.db.uow() as uow:
        await services.care.outbox.to_customer(
            uow.session,
            who,
            key=key,
            category=category,
            template="test",
            message=lambda _lang: Message(
                body=body, subject="Tin từ cửa hàng", reply_markup=markup
            ),
            now=services.clock(),
        )
        await uow.commit()


async def blocked_customer(
    services: Services, sandbox: SandboxServer, user_id: int, email: str, **consents: bool
) -> Customer:
    """A customer with an e-mail address who has blocked the bot on Telegram."""
    sandbox.add_user(user_id, email.split("@")[0].title())
    sandbox.block(user_id)
    return await make_customer(services, telegram_user_id=user_id, email=email, **consents)


async def customer_now(services: Services, customer_id: int) -> Customer:
    async with services.db.uow() as uow:
        found = await uow.session.get(Customer, customer_id)
        uow.session.expunge_all()
    assert found is not None
    return found


async def test_a_message_is_sent_as_html_with_its_buttons_and_logged(
    services: Services, sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_user(7001, "Lan")
    lan = await make_customer(
        services, telegram_user_id=7001, consent_telegram=True, name="Lan <3 & Co"
    )
    keyboard = {"inline_keyboard": [[{"text": "5 ⭐", "callback_data": "survey:1:csat:5"}]]}
    await queue(
        services,
        lan,
        "k:1",
        category=MessageCategory.TRANSACTIONAL,
        body="Chào <b>Lan &lt;3 &amp; Co</b>",
        markup=keyboard,
    )
    report = await dispatcher_for(services, bot).drain()

    assert report["sent"] == 1
    [message] = sandbox.sent(7001)
    assert message.text == "Chào Lan <3 & Co"
    assert message.entities[0]["type"] == "bold"
    assert message.buttons == [("5 ⭐", "survey:1:csat:5")]
    sent = await outbox_row(services, "k:1")
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, services.clock())
    async with services.db.uow() as uow:
        [logged] = list(await uow.session.scalars(select(Interaction)))
        uow.session.expunge_all()
    assert (logged.customer_id, logged.chat_id, logged.direction) == (lan.id, 7001, "out")
    assert logged.text == "Chào <b>Lan &lt;3 &amp; Co</b>"


async def test_a_blocked_user_gets_the_message_by_email(
    services: Services, sandbox: SandboxServer, with_smtp: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = with_smtp
    minh = await blocked_customer(
        services, sandbox, 7002, "minh@example.com", consent_telegram=True, consent_email=True
    )
    await queue(services, minh, "promo:1", body="Ưu đãi <b>20%</b> cho bạn")
    await dispatcher.drain()
    await dispatcher.drain()  # the fallback was queued by the first pass

    assert sandbox.sent(7002) == []
    assert (await customer_now(services, minh.id)).telegram_unreachable is True
    telegram_row = await outbox_row(services, "promo:1")
    assert (telegram_row.status, telegram_row.skip_reason) == ("skipped", "telegram_blocked")
    assert (await outbox_row(services, "promo:1:email")).status == "sent"
    [mail] = server.to("minh@example.com")
    assert "Ưu đãi 20% cho bạn" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_no_email_fallback_for_marketing_without_email_consent(
    services: Services, sandbox: SandboxServer, with_smtp: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = with_smtp
    hoa = await blocked_customer(
        services, sandbox, 7003, "hoa@example.com", consent_telegram=True, consent_email=False
    )
    await queue(services, hoa, "promo:1")
    await dispatcher.drain()
    failed = await outbox_row(services, "promo:1")
    assert (failed.status, failed.skip_reason) == ("failed", "telegram_blocked")
    assert server.messages == []


async def test_a_transactional_message_falls_back_to_email_without_consent(
    services: Services, sandbox: SandboxServer, with_smtp: tuple[Dispatcher, SmtpRecorder]
) -> None:
    dispatcher, server = with_smtp
    tuan = await blocked_customer(
        services, sandbox, 7004, "tuan@example.com", consent_telegram=False, consent_email=False
    )
    await queue(services, tuan, "thanks:1", category=MessageCategory.TRANSACTIONAL)
    await dispatcher.drain()
    await dispatcher.drain()
    assert len(server.to("tuan@example.com")) == 1


async def test_an_opt_out_after_queueing_is_respected_at_send_time(
    services: Services, sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_user(7005, "Lan")
    lan = await make_customer(services, telegram_user_id=7005, consent_telegram=True)
    await queue(services, lan, "promo:1")
    async with services.db.uow() as uow:  # /stop, before the dispatcher runs
        (await uow.session.get(Customer, lan.id)).consent_telegram = False  # type: ignore[union-attr]
        await uow.commit()
    await dispatcher_for(services, bot).drain()
    assert sandbox.sent(7005) == []
    skipped = await outbox_row(services, "promo:1")
    assert (skipped.status, skipped.skip_reason) == ("skipped", "opted_out")


async def test_quiet_hours_hold_a_queued_promotion_until_morning(
    services: Services, sandbox: SandboxServer, bot: Bot, clock: Any
) -> None:
    sandbox.add_user(7006, "Lan")
    lan = await make_customer(services, telegram_user_id=7006, consent_telegram=True)
    clock.now = clock.now.replace(hour=13, minute=55)  # 20:55 local: queued before 21:00
    await queue(services, lan, "promo:1")
    clock.advance(minutes=10)  # the dispatcher gets to it at 21:05
    dispatcher = dispatcher_for(services, bot)
    report = await dispatcher.drain()
    assert report["deferred"] == 1 and sandbox.sent(7006) == []
    held = await outbox_row(services, "promo:1")
    assert held.status == "pending"
    assert held.next_attempt_at == clock.now.replace(hour=1, minute=0) + timedelta(days=1)

    clock.now = held.next_attempt_at  # 08:00 local
    await dispatcher.drain()
    assert len(sandbox.sent(7006)) == 1


async def test_too_many_requests_are_retried_after_the_time_telegram_asks(
    services: Services, clock: Any
) -> None:
    strict = SandboxServer(token=TOKEN, limits=Limits(global_per_second=3))
    async with strict, Bot(TOKEN, base_url=strict.base_url) as strict_bot:
        for n in range(6):
            strict.add_user(7100 + n, f"K{n}")
            who = await make_customer(services, telegram_user_id=7100 + n, consent_telegram=True)
            await queue(services, who, f"promo:{n}")
        dispatcher = dispatcher_for(services, strict_bot, rate=28.0)
        first = await dispatcher.drain()
        assert strict.stats.too_many_requests >= 1
        assert first["sent"] >= 3 and first["retry"] >= 1
        waiting = [await outbox_row(services, f"promo:{n}") for n in range(6)]
        for held in (r for r in waiting if r.status == "pending"):
            assert held.attempts == 0  # a 429 is no failed attempt
            assert held.next_attempt_at > clock()
            assert held.last_error.startswith("429")  # type: ignore[union-attr]
        clock.advance(seconds=5)
        await dispatcher.drain()
        assert len(strict.sent()) == 6
        statuses = [(await outbox_row(services, f"promo:{n}")).status for n in range(6)]
        assert statuses == ["sent"] * 6


async def test_only_the_requests_the_rate_needs_wait_for_telegram_at_once() -> None:
    async with (
        SandboxServer(token=TOKEN, limits=Limits(enabled=False)) as fast,
        Bot(TOKEN, base_url=fast.base_url) as fast_bot,
    ):
        channel = TelegramChannel(fast_bot, messages_per_second=28.0, max_in_flight=8)
        assert channel.in_flight_allowed() == 8  # before any answer: as for a distant Telegram
        for n in range(60):
            fast.add_user(7400 + n, f"K{n}")
            assert isinstance(await channel.send(7400 + n, "Chào", None), Delivered)
        # Answers on loopback take milliseconds: a couple in flight keep 28 a second going.
        assert channel.in_flight_allowed() < 8


async def test_network_errors_are_retried_with_exponential_backoff(
    services: Services, clock: Any
) -> None:
    lan = await make_customer(services, telegram_user_id=7200, consent_telegram=True)
    await queue(services, lan, "promo:1")
    nowhere = Bot(TOKEN, base_url=f"http://127.0.0.1:{free_port()}/bot")  # nothing listens
    dispatcher = dispatcher_for(services, nowhere)
    delays = []
    for _ in range(3):
        before = clock()
        await dispatcher.drain()
        held = await outbox_row(services, "promo:1")
        assert held.status == "pending" and held.last_error.startswith("network")  # type: ignore[union-attr]
        delays.append(held.next_attempt_at - before)
        clock.now = held.next_attempt_at
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]


async def test_a_claim_left_by_a_dead_dispatcher_is_never_sent_again(
    services: Services, sandbox: SandboxServer, bot: Bot, clock: Any
) -> None:
    sandbox.add_user(7300, "Lan")
    lan = await make_customer(services, telegram_user_id=7300, consent_telegram=True)
    await queue(services, lan, "promo:1")
    async with services.db.uow() as uow:  # what a dispatcher killed mid-send leaves behind
        claimed = await uow.session.scalar(select(OutboxMessage))
        claimed.status, claimed.attempts = OutboxStatus.SENDING, 1  # type: ignore[union-attr]
        claimed.next_attempt_at = clock() + timedelta(minutes=5)  # type: ignore[union-attr]
        await uow.commit()
    dispatcher = dispatcher_for(services, bot)
    assert (await dispatcher.drain())["recovered"] == 0  # the lease still holds
    clock.advance(minutes=6)
    assert (await dispatcher.drain())["recovered"] == 1
    assert (await outbox_row(services, "promo:1")).status == OutboxStatus.UNCERTAIN
    await dispatcher.drain()
    assert sandbox.sent(7300) == []


async def test_the_staff_chat_gets_messages_without_a_customer(
    services: Services, sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_group(-1001000, "Nhân viên")
    async with services.db.uow() as uow:
        await services.care.outbox.to_staff(
            uow.session, key="note:1", body="<b>Báo cáo</b>", now=services.clock()
        )
        await uow.commit()
    await dispatcher_for(services, bot).drain()
    [message] = sandbox.sent(-1001000)
    assert message.text == "Báo cáo"


async def test_the_staff_chat_goes_before_a_campaign_already_queued(
    services: Services, sandbox: SandboxServer, bot: Bot
) -> None:
    sandbox.add_group(-1001000, "Nhân viên")
    for n in range(6):
        sandbox.add_user(7500 + n, f"K{n}")
        who = await make_customer(services, telegram_user_id=7500 + n, consent_telegram=True)
        await queue(services, who, f"promo:{n}")
    async with services.db.uow() as uow:
        await services.care.outbox.to_staff(
            uow.session, key="sla:1", body="Phiếu <b>KN-0001</b> sắp quá hạn", now=services.clock()
        )
        await uow.commit()

    await dispatcher_for(services, bot).drain()

    first = sandbox.sent()[0]
    assert first.chat_id == -1001000 and "KN-0001" in first.text
    assert len(sandbox.sent()) == 7
