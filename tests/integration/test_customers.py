"""CustomerService: linking, registration, one-time codes, profile, consent, export, erasure."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from care.core.models import (
    Complaint,
    ComplaintMessage,
    Customer,
    Interaction,
    LinkCode,
    Order,
    OrderLine,
    OutboxMessage,
    PolicyGrant,
    Survey,
    UnansweredQuestion,
)
from care.customers import ERASED_NAME, CodeOutcome, CodeRequest, InvalidInput, LinkOutcome
from care.customers.linking import LINK_CODES_PER_DAY
from care.services import Services
from tests.builders import Clock, make_customer, make_order

TG = 7_000_001
OTHER_TG = 7_000_002


async def rows(services: Services, model, *where):
    async with services.db.uow() as uow:
        found = (await uow.session.scalars(select(model).where(*where))).all()
        uow.session.expunge_all()
        return list(found)


async def fresh(services: Services, customer_id: int) -> Customer:
    async with services.db.uow() as uow:
        customer = await uow.session.get(Customer, customer_id)
        assert customer is not None
        uow.session.expunge(customer)
        return customer


async def log_message(services: Services, telegram_user_id: int, text: str) -> None:
    await services.interactions.record(
        direction="in",
        telegram_user_id=telegram_user_id,
        chat_id=telegram_user_id,
        kind="message",
        text=text,
    )


# --- linking by phone ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0912345678", "+84 912 345 678", "84-912-345-678"])
async def test_every_spelling_of_the_number_finds_the_same_customer(services, typed):
    lan = await make_customer(services, phone="+84912345678")

    result = await services.customers.link_by_phone(TG, typed)

    assert result.outcome == LinkOutcome.LINKED
    assert result.customer is not None and result.customer.id == lan.id
    assert (await fresh(services, lan.id)).telegram_user_id == TG
    assert (await services.customers.by_telegram(TG)).id == lan.id


async def test_a_record_linked_to_another_telegram_account_is_not_taken_over(services):
    lan = await make_customer(services, phone="+84912345678", telegram_user_id=OTHER_TG)

    result = await services.customers.link_by_phone(TG, "0912345678")

    assert result.outcome == LinkOutcome.TAKEN
    assert (await fresh(services, lan.id)).telegram_user_id == OTHER_TG
    assert await services.customers.by_telegram(TG) is None


async def test_linking_again_says_it_is_linked_already(services):
    await make_customer(services, phone="+84912345678", name="Lan")
    await services.customers.link_by_phone(TG, "0912345678")

    again = await services.customers.link_by_phone(TG, "0912345678")

    assert again.outcome == LinkOutcome.ALREADY
    assert again.customer is not None and again.customer.name == "Lan"


async def test_an_unknown_number_offers_registration_with_the_number_normalised(services):
    result = await services.customers.link_by_phone(TG, "0987 654 321")

    assert result.outcome == LinkOutcome.NO_MATCH
    assert result.phone == "+84987654321"


async def test_a_number_that_is_not_a_phone_number_is_refused(services):
    assert (await services.customers.link_by_phone(TG, "12")).outcome == LinkOutcome.INVALID_PHONE


async def test_an_erased_customer_is_never_found_again(services):
    lan = await make_customer(services, phone="+84912345678", telegram_user_id=TG)
    await services.customers.forget(TG)

    result = await services.customers.link_by_phone(TG, "0912345678")

    assert result.outcome == LinkOutcome.NO_MATCH
    assert (await fresh(services, lan.id)).telegram_user_id is None


async def test_what_was_said_before_linking_joins_the_customers_history(services):
    lan = await make_customer(services, phone="+84912345678")
    await log_message(services, TG, "giờ mở cửa?")

    await services.customers.link_by_phone(TG, "0912345678")

    logged = await rows(services, Interaction, Interaction.telegram_user_id == TG)
    assert [i.customer_id for i in logged] == [lan.id]


# --- registration ------------------------------------------------------------------------------


async def test_registering_creates_a_linked_customer_with_a_code(services, clock: Clock):
    result = await services.customers.register(
        TG,
        name="  Trần   Văn Bình ",
        phone="0987654321",
        email="Binh@Example.COM",
        birthday=date(1992, 3, 4),
        language="en",
    )

    assert result.outcome == LinkOutcome.LINKED
    view = result.customer
    assert view is not None
    assert view.code == f"TG-{view.id:06d}"
    assert (view.name, view.phone, view.email) == (
        "Trần Văn Bình",
        "+84987654321",
        "Binh@example.com",
    )
    assert (view.birthday, view.language, view.telegram_user_id) == (date(1992, 3, 4), "en", TG)
    stored = await fresh(services, view.id)
    assert stored.source == "telegram"
    assert (stored.consent_telegram, stored.consent_email) == (False, False)
    assert stored.created_at == clock.now


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": "x"}, "name"),
        ({"name": "12345"}, "name"),
        ({"email": "lan@"}, "email"),
        ({"phone": "12"}, "phone"),
    ],
)
async def test_registration_refuses_bad_values_and_creates_nothing(services, fields, reason):
    values = {"name": "Lan", "phone": "0987654321", "email": None, **fields}

    with pytest.raises(InvalidInput) as problem:
        await services.customers.register(TG, **values)

    assert problem.value.reason == reason
    assert await rows(services, Customer) == []


async def test_a_phone_that_belongs_to_a_record_is_not_registered_twice(services):
    await make_customer(services, phone="+84987654321")

    result = await services.customers.register(TG, name="Lan", phone="0987654321")

    assert result.outcome == LinkOutcome.TAKEN
    assert len(await rows(services, Customer)) == 1


# --- one-time codes -------------------------------------------------------------------------


async def sent_code(services: Services, customer: Customer) -> str:
    emails = await rows(services, OutboxMessage, OutboxMessage.customer_id == customer.id)
    assert emails, "no e-mail was queued"
    found = re.search(r"\b(\d{6})\b", emails[-1].body)
    assert found is not None
    return found.group(1)


async def test_a_code_is_emailed_to_the_address_on_file_and_only_its_hash_is_kept(services):
    lan = await make_customer(services, code="KH-0042", email="lan@example.com")

    assert await services.customers.request_link_code(TG, " kh-0042 ") == CodeRequest.SENT

    (link,) = await rows(services, LinkCode)
    (email,) = await rows(services, OutboxMessage)
    code = await sent_code(services, lan)
    assert email.idempotency_key == f"linkcode:{link.id}"
    assert (email.channel, email.recipient, email.category) == (
        "email",
        "lan@example.com",
        "transactional",
    )
    assert email.status == "pending"
    assert code not in link.code_hash
    assert link.customer_id == lan.id and link.telegram_user_id == TG


async def test_the_right_code_links_the_account(services):
    lan = await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")
    code = await sent_code(services, lan)

    result = await services.customers.verify_link_code(TG, code)

    assert result.outcome == CodeOutcome.LINKED
    assert (await fresh(services, lan.id)).telegram_user_id == TG
    (link,) = await rows(services, LinkCode)
    assert link.used_at is not None
    (email,) = await rows(services, OutboxMessage)
    assert code not in email.body and email.mime is None, "a spent code stays in the outbox"
    again = await services.customers.verify_link_code(TG, code)
    assert again.outcome == CodeOutcome.ALREADY


@pytest.mark.parametrize("fields", [{"code": "KH-0001", "email": None}, None])
async def test_unknown_codes_and_records_without_email_get_the_same_answer(services, fields):
    if fields is not None:
        await make_customer(services, **fields)

    assert await services.customers.request_link_code(TG, "KH-0001") == CodeRequest.UNAVAILABLE
    assert await rows(services, LinkCode) == []
    assert await rows(services, OutboxMessage) == []


async def test_a_record_whose_mailbox_bounces_gets_no_code(services):
    await make_customer(services, code="KH-0001", email_unreachable=True)

    assert await services.customers.request_link_code(TG, "KH-0001") == CodeRequest.UNAVAILABLE
    assert await rows(services, LinkCode) == []


async def test_a_wrong_code_says_how_many_tries_are_left_until_none(services):
    lan = await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")
    right = await sent_code(services, lan)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    limit = services.settings.link_code_max_attempts

    outcomes = [await services.customers.verify_link_code(TG, wrong) for _ in range(limit)]

    assert [r.tries_left for r in outcomes] == list(range(limit - 1, -1, -1))
    assert [r.outcome for r in outcomes] == [CodeOutcome.WRONG] * (limit - 1) + [
        CodeOutcome.EXHAUSTED
    ]
    late = await services.customers.verify_link_code(TG, right)
    assert late.outcome == CodeOutcome.EXHAUSTED
    assert (await fresh(services, lan.id)).telegram_user_id is None


async def test_something_that_is_not_a_code_uses_no_try(services):
    await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")

    result = await services.customers.verify_link_code(TG, "abc")

    assert result.outcome == CodeOutcome.MALFORMED
    (link,) = await rows(services, LinkCode)
    assert link.attempts == 0


async def test_a_code_expires(services, clock: Clock):
    lan = await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")
    clock.advance(minutes=services.settings.link_code_ttl_minutes + 1)

    result = await services.customers.verify_link_code(TG, await sent_code(services, lan))

    assert result.outcome == CodeOutcome.EXPIRED


async def test_asking_again_while_the_code_is_valid_sends_no_second_email(services):
    await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")

    assert await services.customers.request_link_code(TG, "KH-0042") == CodeRequest.SENT

    assert len(await rows(services, OutboxMessage)) == 1
    assert len(await rows(services, LinkCode)) == 1


async def test_codes_per_day_are_limited_for_an_account(services, clock: Clock):
    codes = [f"KH-00{n}" for n in range(40, 40 + LINK_CODES_PER_DAY + 1)]
    for code in codes:
        await make_customer(services, code=code)
    for code in codes[:-1]:  # one code each: no customer reaches its own limit
        assert await services.customers.request_link_code(TG, code) == CodeRequest.SENT
        clock.advance(minutes=services.settings.link_code_ttl_minutes + 1)

    assert await services.customers.request_link_code(TG, codes[-1]) == CodeRequest.TOO_MANY
    clock.advance(days=1)
    assert await services.customers.request_link_code(TG, codes[-1]) == CodeRequest.SENT


async def test_two_accounts_asking_for_one_customer_hit_its_limit_together(services, clock):
    """An attacker with several Telegram accounts cannot flood a customer's mailbox."""
    lan = await make_customer(services, code="KH-0042")
    limit = services.settings.link_code_emails_per_day
    for n in range(limit):  # the accounts take turns; each asks after the last code expired
        asker = TG if n % 2 == 0 else OTHER_TG
        assert await services.customers.request_link_code(asker, "KH-0042") == CodeRequest.SENT
        clock.advance(minutes=services.settings.link_code_ttl_minutes + 1)

    for asker in (TG, OTHER_TG, 7_000_003):
        assert await services.customers.request_link_code(asker, "KH-0042") == (
            CodeRequest.CUSTOMER_LIMIT
        )
    emails = await rows(services, OutboxMessage, OutboxMessage.customer_id == lan.id)
    assert len(emails) == limit
    clock.advance(days=1)
    assert await services.customers.request_link_code(TG, "KH-0042") == CodeRequest.SENT


async def test_nothing_to_check_without_a_requested_code(services):
    assert (await services.customers.verify_link_code(TG, "123456")).outcome == (
        CodeOutcome.NO_CODE
    )


async def test_a_record_linked_meanwhile_to_another_account_stays_with_it(services):
    lan = await make_customer(services, code="KH-0042")
    await services.customers.request_link_code(TG, "KH-0042")
    code = await sent_code(services, lan)
    async with services.db.uow() as uow:
        (await uow.session.get(Customer, lan.id)).telegram_user_id = OTHER_TG
        await uow.commit()

    result = await services.customers.verify_link_code(TG, code)

    assert result.outcome == CodeOutcome.TAKEN
    assert (await fresh(services, lan.id)).telegram_user_id == OTHER_TG


# --- the profile ----------------------------------------------------------------------------


async def test_language_email_and_birthday_are_kept_on_the_record(services):
    lan = await make_customer(services, telegram_user_id=TG)

    assert await services.customers.set_language(TG, "en")
    await services.customers.set_email(TG, " Lan.Nguyen@Example.com ")
    await services.customers.set_birthday(TG, "02/09/1995")

    stored = await fresh(services, lan.id)
    assert (stored.language, stored.email, stored.birthday) == (
        "en",
        "Lan.Nguyen@example.com",
        date(1995, 9, 2),
    )


async def test_an_unlinked_account_changes_nothing(services):
    assert not await services.customers.set_language(TG, "en")
    assert await services.customers.set_email(TG, "a@example.com") is None
    assert await services.customers.stop_all(TG) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/02/1990", "birthday_format"),
        ("hôm qua", "birthday_format"),
        ("01/01/2030", "birthday_future"),
        ("01/01/1850", "birthday_format"),
    ],
)
async def test_a_bad_birthday_is_refused(services, text, reason):
    lan = await make_customer(services, telegram_user_id=TG, birthday=date(1990, 5, 17))

    with pytest.raises(InvalidInput) as problem:
        await services.customers.set_birthday(TG, text)

    assert problem.value.reason == reason
    assert (await fresh(services, lan.id)).birthday == date(1990, 5, 17)


async def test_today_is_the_shops_local_date(services, clock: Clock):
    await make_customer(services, telegram_user_id=TG)
    clock.now = clock.now.replace(hour=18)  # 23/11 in UTC, already 01:00 on 24/11 locally

    view = await services.customers.set_birthday(TG, "24/11/2026")

    assert view.birthday == date(2026, 11, 24)


@pytest.mark.parametrize("text", ["lan", "lan@", "lan@example", "lan @example.com"])
async def test_a_malformed_email_is_refused(services, text):
    await make_customer(services, telegram_user_id=TG)
    with pytest.raises(InvalidInput):
        await services.customers.set_email(TG, text)


async def test_consent_is_toggled_per_channel(services):
    lan = await make_customer(services, telegram_user_id=TG)

    on = await services.customers.toggle_consent(TG, "telegram")
    assert (on.consent_telegram, on.consent_email) == (True, False)
    both = await services.customers.toggle_consent(TG, "email")
    assert (both.consent_telegram, both.consent_email) == (True, True)
    off = await services.customers.toggle_consent(TG, "telegram")
    assert (off.consent_telegram, off.consent_email) == (False, True)
    stored = await fresh(services, lan.id)
    assert (stored.consent_telegram, stored.consent_email) == (False, True)


async def test_email_promotions_need_an_address(services):
    await make_customer(services, telegram_user_id=TG, email=None)
    with pytest.raises(InvalidInput) as problem:
        await services.customers.toggle_consent(TG, "email")
    assert problem.value.reason == "no_email"


async def test_stop_turns_every_promotion_off(services):
    lan = await make_customer(
        services, telegram_user_id=TG, consent_telegram=True, consent_email=True
    )

    await services.customers.stop_all(TG)

    stored = await fresh(services, lan.id)
    assert (stored.consent_telegram, stored.consent_email) == (False, False)


async def test_unlinking_keeps_the_record(services):
    lan = await make_customer(services, telegram_user_id=TG)

    assert (await services.customers.unlink(TG)).id == lan.id
    assert await services.customers.unlink(TG) is None
    stored = await fresh(services, lan.id)
    assert stored.telegram_user_id is None and stored.name == lan.name


# --- export and erasure ---------------------------------------------------------------------


async def customer_with_history(services: Services) -> tuple[Customer, Order]:
    lan = await make_customer(
        services,
        telegram_user_id=TG,
        name="Nguyễn Thị Lan",
        address="12 Hàng Bạc",
        contact_person="Chị Lan",
        consent_email=True,
    )
    order = await make_order(services, lan, code="DH-000777", notes="giao giờ hành chính")
    async with services.db.uow() as uow:
        session = uow.session
        session.add(
            OrderLine(
                order_id=order.id,
                product_name="Nồi cơm điện",
                quantity=1,
                unit_price=1_250_000,
                amount=1_250_000,
            )
        )
        complaint = Complaint(
            customer_id=lan.id,
            order_id=order.id,
            category="delivery",
            description="Giao trễ 3 ngày",
        )
        session.add(complaint)
        await session.flush()
        session.add(
            ComplaintMessage(
                complaint_id=complaint.id, author="customer", text="Chị Lan ở 12 Hàng Bạc"
            )
        )
        session.add(Survey(customer_id=lan.id, trigger="delivery", csat=4, comment="Ổn"))
        session.add(
            PolicyGrant(customer_id=lan.id, policy="voucher", value=50_000, note="xin lỗi chị Lan")
        )
        await uow.commit()
    await log_message(services, TG, "Tôi là Lan, số 0912345678")
    return lan, order


async def test_the_export_holds_everything_and_is_json(services):
    await customer_with_history(services)

    data = await services.customers.export(TG)

    assert data is not None
    assert data["profile"]["name"] == "Nguyễn Thị Lan"
    assert data["profile"]["birthday"] == "1990-05-17"
    assert data["consents"] == {"telegram_promotions": False, "email_promotions": True}
    (order,) = data["orders"]
    assert order["code"] == "DH-000777" and order["amount"] == 1_250_000
    assert order["lines"][0]["product_name"] == "Nồi cơm điện"
    assert [i["text"] for i in data["interactions"]] == ["Tôi là Lan, số 0912345678"]
    assert data["complaints"][0]["messages"][0]["text"] == "Chị Lan ở 12 Hàng Bạc"
    assert data["complaints"][0]["order"] == "DH-000777"
    assert data["surveys"][0]["csat"] == 4
    assert data["policies"][0]["policy"] == "voucher"
    assert "Nguyễn" in json.dumps(data, ensure_ascii=False)


async def test_forgetting_erases_personal_data_and_keeps_order_totals(services, clock: Clock):
    lan, order = await customer_with_history(services)
    async with services.db.uow() as uow:
        uow.session.add(
            LinkCode(
                customer_id=lan.id,
                telegram_user_id=TG,
                code_hash="x$y",
                expires_at=clock.now + timedelta(minutes=5),
            )
        )
        uow.session.add(
            UnansweredQuestion(
                customer_id=lan.id, text="Chị Lan ở Hàng Bạc hỏi", folded="chi lan o hang bac hoi"
            )
        )
        await uow.commit()

    assert await services.customers.forget(TG)

    erased = await fresh(services, lan.id)
    assert erased.name == ERASED_NAME
    for field in ("phone", "email", "address", "birthday", "contact_person", "telegram_user_id"):
        assert getattr(erased, field) is None, field
    assert erased.erased_at == clock.now
    assert (erased.consent_telegram, erased.consent_email) == (False, False)
    assert [i.text for i in await rows(services, Interaction)] == [None]
    assert [m.text for m in await rows(services, ComplaintMessage)] == [None]
    assert [c.description for c in await rows(services, Complaint)] == [None]
    assert [s.comment for s in await rows(services, Survey)] == [None]
    assert await rows(services, LinkCode) == []
    assert await rows(services, UnansweredQuestion) == []
    (kept,) = await rows(services, Order)
    assert (kept.code, kept.amount, kept.customer_id, kept.notes) == (
        order.code,
        1_250_000,
        lan.id,
        None,
    )
    assert await services.customers.by_telegram(TG) is None
    assert not await services.customers.forget(TG)


async def test_forgetting_stops_queued_messages_and_blanks_sent_ones(services):
    lan, _ = await customer_with_history(services)
    await services.customers.request_link_code(OTHER_TG, lan.code)  # a queued e-mail

    await services.customers.forget(TG)

    async with services.db.uow() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.customer_id == lan.id, OutboxMessage.status == "pending")
        )
    assert count == 0
    (email,) = await rows(services, OutboxMessage)
    assert (email.status, email.skip_reason, email.recipient, email.body) == (
        "skipped",
        "erased",
        "",
        "",
    )
