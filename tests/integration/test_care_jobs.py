"""The care programme's scans: each decides from the data what is due and queues it once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.sandbox import SandboxServer
from care.core.models import (
    ClassificationChange,
    CustomerMetrics,
    Product,
    Survey,
)
from care.services import Services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN, make_customer, make_order, outbox_rows


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A Ho Chi Minh City wall-clock time as the UTC the clock holds."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
async def dispatcher(services: Services, sandbox: SandboxServer) -> AsyncIterator[Dispatcher]:
    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        yield Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28.0),
            email=EmlDirectoryChannel(services.settings.outbox_dir),
        )


# --- thank-you and survey after delivery ------------------------------------------------------


async def test_a_thank_you_goes_out_a_set_time_after_delivery(
    services: Services, sandbox: SandboxServer, dispatcher: Dispatcher, clock: Any
) -> None:
    sandbox.add_user(8001, "Lan")
    lan = await make_customer(services, telegram_user_id=8001, name="Lan")
    delivered = clock() - timedelta(hours=1)
    order = await make_order(services, lan, code="DH-THANKS", delivered_at=delivered)
    care = services.care

    assert (await care.thank_deliveries()).queued == 0  # delivered an hour ago: too early
    clock.advance(hours=1, minutes=1)  # thanks_delay_hours = 2
    assert (await care.thank_deliveries()).queued == 1
    assert (await care.thank_deliveries()).queued == 0  # decided once
    await dispatcher.drain()

    [message] = sandbox.sent(8001)
    assert "Cảm ơn Lan đã mua sắm" in message.text and "DH-THANKS" in message.text
    assert "1.250.000 ₫" in message.text
    [row] = await outbox_rows(services, "thanks:")
    assert (row.idempotency_key, row.status) == (f"thanks:{order.id}", "sent")


async def test_old_deliveries_from_an_import_get_no_thank_you(services: Services) -> None:
    lan = await make_customer(services, telegram_user_id=8002)
    await make_order(services, lan)  # delivered eight days ago
    assert (await services.care.thank_deliveries()).queued == 0
    assert await outbox_rows(services) == []


async def test_a_thank_you_in_the_night_waits_for_the_morning(
    services: Services, clock: Any
) -> None:
    lan = await make_customer(services, telegram_user_id=8003)
    clock.now = local(2026, 11, 23, 22, 30)
    await make_order(services, lan, delivered_at=clock() - timedelta(hours=2, minutes=5))
    await services.care.thank_deliveries()
    [row] = await outbox_rows(services, "thanks:")
    assert row.next_attempt_at == local(2026, 11, 24, 8, 0)


async def test_the_survey_invitation_creates_a_survey_with_csat_buttons(
    services: Services, sandbox: SandboxServer, dispatcher: Dispatcher, clock: Any
) -> None:
    sandbox.add_user(8004, "Lan")
    lan = await make_customer(services, telegram_user_id=8004, consent_telegram=False)
    order = await make_order(services, lan, delivered_at=clock() - timedelta(hours=73))
    assert (await services.care.invite_surveys()).queued == 1
    assert (await services.care.invite_surveys()).queued == 0
    await dispatcher.drain()

    async with services.db.uow() as uow:
        [survey] = list(await uow.session.scalars(select(Survey)))
        uow.session.expunge_all()
    assert (survey.customer_id, survey.order_id, survey.trigger) == (lan.id, order.id, "delivery")
    [message] = sandbox.sent(8004)
    assert order.code in message.text
    assert [data for _, data in message.buttons] == [
        f"survey:{survey.id}:csat:{n}" for n in range(1, 6)
    ]
    [row] = await outbox_rows(services, "survey:")
    assert row.idempotency_key == f"survey:delivery:{order.id}"


async def test_no_survey_for_a_customer_with_neither_telegram_nor_email(
    services: Services, clock: Any
) -> None:
    unreachable = await make_customer(services, telegram_user_id=None, email=None)
    await make_order(services, unreachable, delivered_at=clock() - timedelta(hours=73))
    report = await services.care.invite_surveys()
    assert report.skipped == {"no_telegram": 1}  # by e-mail: tests/integration/test_web_surveys.py
    async with services.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Survey)) == 0


# --- birthdays and founding days -----------------------------------------------------------------


async def test_a_birthday_greeting_on_the_day_from_nine_and_only_once(
    services: Services, sandbox: SandboxServer, dispatcher: Dispatcher, clock: Any
) -> None:
    sandbox.add_user(8010, "Lan")
    lan = await make_customer(
        services,
        telegram_user_id=8010,
        consent_telegram=True,
        name="Lan",
        birthday=date(1990, 12, 5),
    )
    care = services.care
    clock.now = local(2026, 12, 4, 10)
    assert (await care.greet_birthdays()).queued == 0  # the day before
    clock.now = local(2026, 12, 5, 8, 59)
    assert (await care.greet_birthdays()).queued == 0  # before the greeting hour
    clock.now = local(2026, 12, 5, 9, 0)
    assert (await care.greet_birthdays()).queued == 1
    clock.now = local(2026, 12, 5, 15, 0)
    assert (await care.greet_birthdays()).queued == 0  # a later scan, a restart: not twice
    await dispatcher.drain()
    [message] = sandbox.sent(8010)
    assert "Chúc mừng sinh nhật Lan" in message.text

    clock.now = local(2027, 12, 5, 9, 0)
    assert (await care.greet_birthdays()).queued == 1  # next year again
    keys = [row.idempotency_key for row in await outbox_rows(services, "birthday:")]
    assert keys == [f"birthday:{lan.id}:2026", f"birthday:{lan.id}:2027"]


async def test_an_organization_is_greeted_on_its_founding_day(
    services: Services, clock: Any
) -> None:
    company = await make_customer(
        services,
        kind="organization",
        name="Công ty TNHH Ánh Dương",
        contact_person="chị Hằng",
        telegram_user_id=None,
        email="hang@anhduong.vn",
        consent_email=True,
        birthday=date(2016, 3, 15),
        language="vi",
    )
    clock.now = local(2027, 3, 15, 9, 30)
    await services.care.greet_birthdays()
    [row] = await outbox_rows(services)
    assert row.idempotency_key == f"founding:{company.id}:2027"
    assert row.channel == "email"
    assert row.subject == "Chúc mừng ngày thành lập Công ty TNHH Ánh Dương"
    assert "Kính gửi chị Hằng" in row.body and "11 năm" in row.body


async def test_a_29_february_birthday_is_greeted_on_the_28th_in_common_years(
    services: Services, clock: Any
) -> None:
    await make_customer(
        services, telegram_user_id=8011, consent_telegram=True, birthday=date(2000, 2, 29)
    )
    clock.now = local(2027, 2, 28, 9)
    assert (await services.care.greet_birthdays()).queued == 1


async def test_a_greeting_needs_consent(services: Services, clock: Any) -> None:
    await make_customer(
        services,
        telegram_user_id=8012,
        consent_telegram=False,
        consent_email=False,
        birthday=date(1990, 12, 5),
    )
    clock.now = local(2026, 12, 5, 9)
    report = await services.care.greet_birthdays()
    assert (report.queued, report.skipped) == (0, {"no_consent": 1})


async def test_an_erased_customer_is_not_greeted(services: Services, clock: Any) -> None:
    await make_customer(
        services,
        telegram_user_id=8013,
        consent_telegram=True,
        birthday=date(1990, 12, 5),
        erased_at=clock(),
    )
    clock.now = local(2026, 12, 5, 9)
    assert (await services.care.greet_birthdays()).queued == 0
    assert await outbox_rows(services) == []


# --- holidays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tet", [date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26), date(2030, 2, 2)]
)
async def test_tet_greetings_go_out_on_tet(services: Services, clock: Any, tet: date) -> None:
    await make_customer(services, telegram_user_id=8020, consent_telegram=True, birthday=None)
    clock.now = local(tet.year, tet.month, tet.day) - timedelta(days=1)
    assert (await services.care.greet_holidays()).queued == 0  # New Year's Eve: not yet
    clock.now = local(tet.year, tet.month, tet.day, 9)
    assert (await services.care.greet_holidays()).queued == 1
    assert (await services.care.greet_holidays()).queued == 0
    [row] = await outbox_rows(services)
    assert row.idempotency_key.startswith(f"holiday:tet:{tet.year}:")
    assert f"Chúc mừng năm mới Xuân {tet.year}" in row.body


async def test_organizations_get_tet_but_not_womens_day(services: Services, clock: Any) -> None:
    await make_customer(
        services,
        kind="organization",
        name="Công ty X",
        telegram_user_id=8021,
        consent_telegram=True,
        birthday=None,
    )
    await make_customer(services, telegram_user_id=8022, consent_telegram=True, birthday=None)
    clock.now = local(2027, 3, 8, 9)
    assert (await services.care.greet_holidays()).queued == 1
    clock.now = local(2027, 2, 6, 9)
    assert (await services.care.greet_holidays()).queued == 2


async def test_a_holiday_can_be_switched_off(services: Services, clock: Any) -> None:
    await make_customer(services, telegram_user_id=8023, consent_telegram=True, birthday=None)
    services.settings.holidays_enabled = ["tet", "new_year"]
    clock.now = local(2027, 10, 20, 9)
    report = await services.care.greet_holidays()
    assert report.queued == 0 and report.note == "no holiday now"


async def test_english_readers_get_english_greetings(services: Services, clock: Any) -> None:
    await make_customer(
        services,
        telegram_user_id=8024,
        consent_telegram=True,
        birthday=None,
        language="en",
        name="Jane",
    )
    clock.now = local(2027, 9, 15, 9)
    await services.care.greet_holidays()
    [row] = await outbox_rows(services)
    assert "Happy Mid-Autumn Festival" in row.body and "Jane" in row.body


# --- newsletter and win-back ----------------------------------------------------------------------


async def test_the_monthly_newsletter_lists_what_is_new(services: Services, clock: Any) -> None:
    await make_customer(services, telegram_user_id=8030, consent_telegram=True, birthday=None)
    clock.now = local(2026, 12, 1, 9, 30)
    assert (await services.care.send_newsletter()).note == "nothing new this month"
    async with services.db.uow() as uow:
        uow.session.add(
            Product(
                code="SP1",
                name="Ấm trà Bát Tràng",
                price=450_000,
                created_at=clock() - timedelta(days=10),
            )
        )
        await uow.commit()
    assert (await services.care.send_newsletter()).queued == 1
    assert (await services.care.send_newsletter()).queued == 0
    [row] = await outbox_rows(services, "newsletter:2026-12:")
    assert "Ấm trà Bát Tràng" in row.body and "450.000 ₫" in row.body
    clock.now = local(2026, 12, 2, 9, 30)
    assert (await services.care.send_newsletter()).note == "not newsletter day"


async def test_win_back_when_a_customer_becomes_at_risk(services: Services, clock: Any) -> None:
    slipping = await make_customer(services, telegram_user_id=8040, consent_telegram=True)
    recovered = await make_customer(services, telegram_user_id=8041, consent_telegram=True)
    async with services.db.uow() as uow:
        for who, segment in ((slipping, "at_risk"), (recovered, "loyal")):
            uow.session.add(
                CustomerMetrics(
                    customer_id=who.id, as_of=clock().date(), segment=segment, tier="silver"
                )
            )
            uow.session.add(
                ClassificationChange(
                    customer_id=who.id,
                    field="segment",
                    old_value="loyal",
                    new_value="at_risk",
                    changed_at=clock() - timedelta(days=1),
                    as_of=clock().date(),
                )
            )
        await uow.commit()
    assert (await services.care.win_back()).queued == 1  # the other one is loyal again
    assert (await services.care.win_back()).queued == 0
    [row] = await outbox_rows(services, "winback:")
    assert row.customer_id == slipping.id and "Lâu rồi không gặp" in row.body
