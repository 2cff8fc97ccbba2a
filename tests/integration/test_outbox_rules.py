"""The outbox in the database: one row per idempotency key, written in the same transaction as its
cause, the frequency cap counted over the last seven days, skips recorded with their reason,
e-mail rows with their unsubscribe link, and one-click unsubscribing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

from sqlalchemy import func, select

from care.core.models import Channel, Customer, MessageCategory, OutboxMessage
from care.outreach.outbox import (
    Message,
)
from care.outreach.rules import (
    SKIP_ERASED,
    SKIP_FREQUENCY_CAP,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    SKIP_UNREACHABLE,
    Hold,
    Skip,
    hold_at_send,
    sendable_now,
)
from care.services import Services
from tests.builders import make_customer

MARKETING, GREETING, TRANSACTIONAL = (
    MessageCategory.MARKETING,
    MessageCategory.GREETING,
    MessageCategory.TRANSACTIONAL,
)


def note(text: str) -> object:
    return lambda _language: Message(body=text, subject="Tin")


async def count_rows(services: Services, **where: object) -> int:
    async with services.db.uow() as uow:
        query = select(func.count()).select_from(OutboxMessage).filter_by(**where)
        return int(await uow.session.scalar(query) or 0)


async def test_the_same_key_is_queued_once(services: Services) -> None:
    lan = await make_customer(services, telegram_user_id=501, consent_telegram=True)
    outbox = services.care.outbox
    for _ in range(3):
        async with services.db.uow() as uow:
            await outbox.to_customer(
                uow.session,
                lan,
                key="thanks:1",
                category=TRANSACTIONAL,
                template="t",
                message=note("Cảm ơn"),
                now=services.clock(),
            )
            await uow.commit()
    assert await count_rows(services, idempotency_key="thanks:1") == 1


async def test_insert_on_conflict_ignores_a_duplicate_in_the_same_transaction(
    services: Services,
) -> None:
    from care.outreach.outbox import enqueue_rows

    lan = await make_customer(services, telegram_user_id=502)
    row = services.care.outbox.skipped(
        lan,
        key="x:1",
        category=MARKETING,
        template="t",
        reason=SKIP_NO_CONSENT,
        now=services.clock(),
    ).row
    async with services.db.uow() as uow:
        assert await enqueue_rows(uow.session, [row]) == 1
        assert await enqueue_rows(uow.session, [row]) == 0
        await uow.commit()
    assert await count_rows(services, idempotency_key="x:1") == 1


async def test_a_queued_message_rolls_back_with_its_cause(services: Services) -> None:
    lan = await make_customer(services, telegram_user_id=503)
    async with services.db.uow() as uow:
        await services.care.outbox.to_customer(
            uow.session,
            lan,
            key="thanks:2",
            category=TRANSACTIONAL,
            template="t",
            message=note("Cảm ơn"),
            now=services.clock(),
        )
        # no commit: the cause failed
    assert await count_rows(services, idempotency_key="thanks:2") == 0


async def test_the_frequency_cap_counts_the_last_seven_days(services: Services, clock) -> None:
    lan = await make_customer(
        services, telegram_user_id=504, consent_telegram=True, consent_email=True
    )
    outbox = services.care.outbox

    async def promote(key: str) -> str:
        async with services.db.uow() as uow:
            placed = await outbox.to_customer(
                uow.session,
                lan,
                key=key,
                category=MARKETING,
                template="promo",
                message=note("Ưu đãi"),
                now=clock(),
            )
            await uow.commit()
        assert placed is not None
        return placed.row["status"]

    assert await promote("promo:1") == "pending"
    clock.advance(days=3)
    assert await promote("promo:2") == "pending"
    clock.advance(days=1)
    assert await promote("promo:3") == "skipped"  # two in the last seven days
    clock.advance(days=3, minutes=1)  # the first one is now eight days old
    assert await promote("promo:4") == "pending"
    assert await count_rows(services, skip_reason=SKIP_FREQUENCY_CAP) == 1


async def test_skips_are_recorded_with_their_reason(services: Services) -> None:
    silent = await make_customer(
        services, telegram_user_id=505, consent_telegram=False, consent_email=False
    )
    async with services.db.uow() as uow:
        placed = await services.care.outbox.to_customer(
            uow.session,
            silent,
            key="promo:9",
            category=MARKETING,
            template="promo",
            message=note("Ưu đãi"),
            now=services.clock(),
        )
        await uow.commit()
    assert placed is not None and placed.route == Skip(SKIP_NO_CONSENT)
    assert await count_rows(services, status="skipped", skip_reason=SKIP_NO_CONSENT) == 1


async def test_an_email_row_carries_text_html_and_the_unsubscribe_link(services: Services) -> None:
    mail_only = await make_customer(
        services, telegram_user_id=None, consent_email=True, email="hoa@example.com", language="en"
    )
    async with services.db.uow() as uow:
        placed = await services.care.outbox.to_customer(
            uow.session,
            mail_only,
            key="promo:10",
            category=MARKETING,
            template="promo",
            message=note("Sale: <b>20% off</b> &amp; free delivery"),
            now=services.clock(),
        )
        await uow.commit()
    assert placed is not None
    row = placed.row
    assert row["channel"] == "email" and row["recipient"] == "hoa@example.com"
    assert "Sale: 20% off & free delivery" in row["body"]
    assert "<b>20% off</b> &amp; free delivery" in row["body_html"]
    token = services.care.outbox.links.token(mail_only.id)
    link = f"{services.settings.public_base_url}/unsubscribe/{token}"
    assert link in row["body"] and link in row["body_html"]


async def test_one_click_unsubscribe_withdraws_email_consent(services: Services) -> None:
    lan = await make_customer(services, consent_email=True)
    outbox = services.care.outbox
    assert await outbox.unsubscribe(outbox.links.token(lan.id))
    async with services.db.uow() as uow:
        assert (await uow.session.get(Customer, lan.id)).consent_email is False  # type: ignore[union-attr]
    assert not await outbox.unsubscribe("1.forged")


# --- the rules at sending time: the pure check and the dispatcher's SQL agree -------------

NOON = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 12:00 in Ho Chi Minh City
NIGHT = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 23:00 there: quiet hours

SEND_CASES = [
    {
        "erased": erased,
        "unreachable": unreachable,
        "consent": consent,
        "channel": channel,
        "category": category,
    }
    for erased, unreachable, consent, channel, category in product(
        (False, True),
        (False, True),
        (False, True),
        (Channel.TELEGRAM, Channel.EMAIL),
        (MARKETING, GREETING, TRANSACTIONAL),
    )
]


async def queue_case(services: Services, number: int, case: dict[str, Any]) -> int:
    """A customer in the state the case describes, with one pending message to them."""
    telegram = case["channel"] == Channel.TELEGRAM
    async with services.db.uow() as uow:
        customer = Customer(
            code=f"R{number:03d}",
            name="Lan",
            telegram_user_id=9000 + number,
            email=f"r{number}@example.com",
            consent_telegram=case["consent"] if telegram else True,
            consent_email=case["consent"] if not telegram else True,
            telegram_unreachable=case["unreachable"] if telegram else False,
            email_unreachable=case["unreachable"] if not telegram else False,
            erased_at=NOON - timedelta(days=1) if case["erased"] else None,
        )
        uow.session.add(customer)
        await uow.session.flush()
        row = OutboxMessage(
            idempotency_key=f"case:{number}",
            channel=case["channel"],
            category=case["category"],
            customer_id=customer.id,
            recipient=str(customer.telegram_user_id) if telegram else str(customer.email),
            template="t",
            body="Xin chào",
        )
        uow.session.add(row)
        await uow.commit()
        return row.id


async def test_the_dispatchers_claim_and_the_rules_agree_on_every_case(
    services: Services,
) -> None:
    rows = {await queue_case(services, n, case): case for n, case in enumerate(SEND_CASES)}
    async with services.db.uow() as uow:
        staff_row = OutboxMessage(
            idempotency_key="staff:1",
            channel=Channel.TELEGRAM,
            category=TRANSACTIONAL,
            recipient="-100",
            template="staff",
            body="Phiếu mới",
        )
        uow.session.add(staff_row)
        await uow.commit()
    settings = services.settings
    for now in (NOON, NIGHT):
        for channel in (Channel.TELEGRAM, Channel.EMAIL):
            async with services.db.uow() as uow:
                claimable = set(
                    await uow.session.scalars(
                        select(OutboxMessage.id).where(
                            OutboxMessage.channel == channel,
                            sendable_now(channel, now=now, settings=settings),
                        )
                    )
                )
                customers = {
                    row.id: (
                        await uow.session.get(Customer, row.customer_id)
                        if row.customer_id
                        else None
                    )
                    for row in await uow.session.scalars(
                        select(OutboxMessage).where(OutboxMessage.channel == channel)
                    )
                }
                for row_id, customer in customers.items():
                    case = rows.get(row_id, {"category": TRANSACTIONAL, "staff": True})
                    held = hold_at_send(
                        customer, channel, case["category"], now=now, settings=settings
                    )
                    assert (held is None) == (row_id in claimable), (now, case, held)


async def test_what_holds_a_queued_message_back(services: Services) -> None:
    """The reasons the dispatcher records, read off the same table."""
    settings = services.settings
    lan = Customer(
        telegram_user_id=1,
        email="lan@example.com",
        consent_telegram=True,
        consent_email=False,
        telegram_unreachable=False,
        email_unreachable=False,
    )

    def hold(customer: Customer | None, channel: str, category: str, now: datetime) -> Hold | None:
        return hold_at_send(customer, channel, category, now=now, settings=settings)

    assert hold(lan, Channel.TELEGRAM, MARKETING, NOON) is None
    assert hold(lan, Channel.EMAIL, MARKETING, NOON) == Hold("skip", SKIP_OPTED_OUT)
    assert hold(lan, Channel.EMAIL, TRANSACTIONAL, NOON) is None
    morning = hold(lan, Channel.TELEGRAM, GREETING, NIGHT)
    assert morning is not None and morning.action == "defer"
    assert morning.until == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 local
    assert hold(lan, Channel.TELEGRAM, TRANSACTIONAL, NIGHT) is None
    assert hold(None, Channel.TELEGRAM, MARKETING, NIGHT) is None  # the staff chat
    lan.telegram_unreachable = True
    assert hold(lan, Channel.TELEGRAM, TRANSACTIONAL, NOON) == Hold("fallback", SKIP_UNREACHABLE)
    lan.erased_at = NOON
    assert hold(lan, Channel.TELEGRAM, TRANSACTIONAL, NOON) == Hold("skip", SKIP_ERASED)
