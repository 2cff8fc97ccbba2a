"""Erasure reaches what the customer's own record does not: texts elsewhere that name them,
the staff chat's card, the .eml files, and the bytes SQLite frees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from care.core.db import _sqlite_pragmas
from care.core.models import (
    Complaint,
    ComplaintMessage,
    FaqConfirmation,
    Interaction,
    OutboxMessage,
    UnansweredQuestion,
)
from care.customers import ERASED_MARK, mentions_of
from care.faq import asker_key
from care.services import Services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel
from tests.builders import make_customer

TG = 7_100_001
NAME = "Trần Thị Lan Anh"


async def texts(services: Services, column) -> list[str | None]:
    async with services.db.uow() as uow:
        return list((await uow.session.scalars(select(column).order_by(column.class_.id))).all())


async def log(
    services: Services,
    text_: str,
    *,
    telegram_id: int | None = None,
    customer_id: int | None = None,
    internal: bool = False,
    **more,
) -> None:
    await services.interactions.record(
        direction=more.pop("direction", "in"),
        telegram_user_id=telegram_id,
        chat_id=more.pop("chat_id", telegram_id),
        kind="message",
        text=text_,
        customer_id=customer_id,
        internal=internal,
        **more,
    )


def sqlite_files(services: Services) -> list[Path]:
    url = make_url(services.settings.database_url)
    if not url.drivername.startswith("sqlite"):
        pytest.skip("the bytes on disk are SQLite's; PostgreSQL's VACUUM reuses its own")
    return [Path(f"{url.database}{suffix}") for suffix in ("", "-wal")]


async def test_every_sqlite_connection_overwrites_what_it_deletes(services):
    sqlite_files(services)
    async with services.db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA secure_delete"))).scalar() == 1
    # Debian's SQLite has it on by default; a build without that default gets it too.
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA secure_delete=OFF")
    _sqlite_pragmas(connection, None)
    assert connection.execute("PRAGMA secure_delete").fetchone() == (1,)


async def test_the_freed_pages_of_an_erased_text_keep_no_word_of_it(services):
    files = sqlite_files(services)
    await make_customer(services, telegram_user_id=TG, name=NAME)
    story = f"Em là {NAME}, em kể chuyện giao hàng. " * 300  # long: it spills over pages
    await log(services, story, telegram_id=TG)

    await services.customers.forget(TG)

    for path in files:
        if path.exists():
            assert NAME.encode() not in path.read_bytes(), path.name


async def test_what_others_wrote_about_the_customer_loses_her_name_phone_and_email(services):
    lan = await make_customer(
        services, telegram_user_id=TG, name=NAME, phone="+84912345678", email="lan.anh@example.com"
    )
    other = await make_customer(services, telegram_user_id=TG + 1, name="Phạm Văn Bình")
    await log(services, f"Tôi là bạn của {NAME}, số chị ấy 0912 345 678", telegram_id=TG + 1)
    await log(services, "Bình đây, Lan can nhà tôi bị hỏng", telegram_id=TG + 1)
    await log(
        services,
        "Khách: Trần Thị Lan Anh · lan.anh@example.com",
        chat_id=-100,
        internal=True,
        direction="out",
    )

    await services.customers.forget(TG)

    assert await texts(services, Interaction.text) == [
        f"Tôi là bạn của {ERASED_MARK}, số chị ấy {ERASED_MARK}",
        "Bình đây, Lan can nhà tôi bị hỏng",  # another Lan's words are not touched
        f"Khách: {ERASED_MARK} · {ERASED_MARK}",
    ]
    async with services.db.uow() as uow:
        owners = (
            await uow.session.scalars(select(Interaction.customer_id).order_by(Interaction.id))
        ).all()
    assert owners == [other.id, other.id, None]
    assert lan.id not in owners


def test_a_short_name_alone_is_not_searched_for_but_every_phone_spelling_is():
    class Person:
        name, contact_person, address = "Lan", None, None
        phone, email = "+84912345678", "Lan@Example.com"

    found = mentions_of(Person())  # type: ignore[arg-type]

    assert "Lan" not in found
    assert {
        "+84912345678",
        "84912345678",
        "0912345678",
        "0912 345 678",
        "+84 912 345 678",
        "Lan@Example.com",
        "lan@example.com",
    } <= set(found)
    assert found == sorted(found, key=len, reverse=True)  # a longer spelling goes first


async def test_the_staff_chat_card_is_edited_through_the_outbox(services):
    lan = await make_customer(services, telegram_user_id=TG, name=NAME)
    async with services.db.uow() as uow:
        complaint = Complaint(
            customer_id=lan.id,
            category="delivery",
            description="Giao trễ",
            status="open",
            staff_chat_id=-1001000,
            staff_card_message_id=41,
        )
        uow.session.add(complaint)
        await uow.session.flush()
        complaint.code = "KN-000777"
        uow.session.add(
            ComplaintMessage(
                complaint_id=complaint.id, author="customer", text="ảnh", staff_chat_message_id=42
            )
        )
        uow.session.add(
            ComplaintMessage(
                complaint_id=complaint.id,
                author="staff",
                text="Dạ em gọi ngay",
                staff_chat_message_id=43,
            )
        )
        await uow.commit()
    await log(
        services, "Dạ em gọi ngay", telegram_id=999, chat_id=-1001000, internal=True, message_id=43
    )

    erased = await services.customers.forget(TG)

    assert erased is not None and erased.staff_chat_edits == 2
    async with services.db.uow() as uow:
        edits = (
            await uow.session.scalars(
                select(OutboxMessage).order_by(OutboxMessage.edits_message_id)
            )
        ).all()
        ticket = await uow.session.get(Complaint, complaint.id)
        assert ticket.status == "resolved"  # nobody is left to answer
        uow.session.expunge_all()
    assert [(e.recipient, e.edits_message_id, e.customer_id, e.status) for e in edits] == [
        ("-1001000", 41, None, "pending"),
        ("-1001000", 42, None, "pending"),
    ]
    assert "KN-000777" in edits[0].body and "xoá" in edits[0].body and NAME not in edits[0].body
    assert await texts(services, Interaction.text) == [None]  # the staff reply's copy


async def test_her_emails_written_as_files_are_removed(services, clock):
    lan = await make_customer(
        services, code="KH-0042", telegram_user_id=TG, name=NAME, email="lan.anh@example.com"
    )
    await services.customers.request_link_code(TG + 5, "KH-0042")
    dispatcher = Dispatcher(
        services, telegram=None, email=EmlDirectoryChannel(services.settings.outbox_dir)
    )
    assert (await dispatcher.drain())["sent"] == 1
    other = await make_customer(services, code="KH-0043", email="binh@example.com")
    await services.customers.request_link_code(TG + 6, "KH-0043")
    await dispatcher.drain()
    files = sorted(services.settings.outbox_dir.glob("*.eml"))
    assert len(files) == 2

    erased = await services.customers.forget(TG)

    assert erased is not None and len(erased.files) == 1
    (left,) = services.settings.outbox_dir.glob("*.eml")
    assert b"binh@example.com" in left.read_bytes()  # someone else's e-mail stays
    assert lan.id != other.id


async def test_a_shop_erases_by_code_once(services):
    await make_customer(services, code="KH-0042", name=NAME)

    assert await services.customers.forget_by_code("KH-NOBODY") is None
    erased = await services.customers.forget_by_code("kh-0042")
    assert erased is not None and erased.customer_code == "KH-0042"
    assert await services.customers.forget_by_code("KH-0042") is None
    assert (await services.customers.by_code("KH-0042")).erased_at is not None


async def test_unanswered_questions_she_asked_are_deleted(services):
    lan = await make_customer(services, telegram_user_id=TG, name=NAME)
    async with services.db.uow() as uow:
        uow.session.add(
            UnansweredQuestion(
                customer_id=lan.id,
                text="Giao tới Hàng Bạc không?",
                folded="giao toi hang bac khong",
            )
        )
        uow.session.add(
            UnansweredQuestion(
                customer_id=None,
                text=f"{NAME} có ở đây không?",
                folded="tran thi lan anh co o day khong",
            )
        )
        await uow.commit()

    await services.customers.forget(TG)

    assert await texts(services, UnansweredQuestion.text) == [f"{ERASED_MARK} có ở đây không?"]
    assert await texts(services, UnansweredQuestion.folded) == [f"{ERASED_MARK} co o day khong"]


async def test_the_faq_wordings_she_confirmed_are_deleted(services):
    lan = await make_customer(services, telegram_user_id=TG, name=NAME)
    added = await services.faq.add("Phí giao hàng là bao nhiêu?", "30.000 ₫", "vi")
    async with services.db.uow() as uow:
        for asker, wording in ((TG, "ship ve Hang Bac"), (TG + 1, f"ship cho {NAME}")):
            uow.session.add(
                FaqConfirmation(
                    entry_id=added.entry.id,
                    language="vi",
                    text=f"{wording} bao nhieu",
                    folded="-",
                    asker=asker_key(asker),
                )
            )
        await uow.commit()

    await services.customers.forget(lan.telegram_user_id)

    assert await texts(services, FaqConfirmation.text) == [f"ship cho {ERASED_MARK} bao nhieu"]
