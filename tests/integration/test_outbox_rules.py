"""The outbox in the database: one row per idempotency key, written in the same transaction as its
cause, the frequency cap counted over the last seven days, skips recorded with their reason,
e-mail rows with their unsubscribe link, and one-click unsubscribing."""

from __future__ import annotations

from sqlalchemy import func, select

from care.core.models import Customer, MessageCategory, OutboxMessage
from care.outreach.outbox import (
    SKIP_FREQUENCY_CAP,
    SKIP_NO_CONSENT,
    Message,
    Skip,
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
