"""What one customer message costs the database: one session, at most one commit, the
customer looked up once; a flooding customer's extra messages cost nothing at all.

Counted with SQLAlchemy's events on the bot's engine while the real Application answers
through the sandbox. Each count ends once the bot has gone quiet and its persistence has
stored what it would store after the update, so nothing the update caused is missed.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from care.core.models import ComplaintMessage, FaqEntry, Interaction
from care.tickets.complaints import Draft
from tests.builders import make_customer, make_order

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
SENDER_LOOKUP = re.compile(r"\bFROM customers\b.*\bcustomers\.telegram_user_id = ", re.S)


class DatabaseUse:
    """What the bot asks of the database while counting: connections taken from the pool
    (one for each session that touched the database), commits, statements that write, and
    lookups of a customer by Telegram id."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.sync_engine
        self.sessions = 0
        self.commits = 0
        self.writes: list[str] = []
        self.sender_lookups = 0

    def _checkout(self, *_: Any) -> None:
        self.sessions += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes.append(statement)
        if SENDER_LOOKUP.search(statement):
            self.sender_lookups += 1

    def __enter__(self) -> DatabaseUse:
        event.listen(self._engine, "checkout", self._checkout)
        event.listen(self._engine, "commit", self._commit)
        event.listen(self._engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self._engine, "checkout", self._checkout)
        event.remove(self._engine, "commit", self._commit)
        event.remove(self._engine, "before_cursor_execute", self._statement)


async def settled(bot) -> None:
    """The bot has finished with the update, and its persistence has stored the rest."""
    await bot.sandbox.wait_idle(quiet=0.3)
    await bot.application.update_persistence()


async def linked_customer(bot, first_name: str = "Lan"):
    person = bot.customer(first_name)
    record = await make_customer(
        bot.services, name=f"Nguyễn Thị {first_name}", telegram_user_id=person.id
    )
    return person, record


async def logged(bot, person) -> list[tuple[str, str | None]]:
    async with bot.services.db.uow() as uow:
        rows = await uow.session.execute(
            select(Interaction.direction, Interaction.text)
            .where(Interaction.chat_id == person.id)
            .order_by(Interaction.id)
        )
        return [(direction, text) for direction, text in rows]


async def test_an_faq_question_costs_one_session_and_one_commit(bot):
    await bot.services.faq.import_file(DEMO_FAQ)
    lan, _ = await linked_customer(bot)

    with DatabaseUse(bot.services.db.engine) as use:
        answer = await lan.says("cua hang mo cua luc may gio")
        await settled(bot)

    assert "8:00 đến 21:30" in answer.text
    assert (use.sessions, use.commits, use.sender_lookups) == (1, 1, 1)
    # That one commit carried the whole update: the question, the answer and the hit.
    assert await logged(bot, lan) == [
        ("in", "cua hang mo cua luc may gio"),
        ("out", answer.raw_text),
    ]
    async with bot.services.db.uow() as uow:
        hits = await uow.session.scalar(
            select(FaqEntry.hits).where(FaqEntry.question == "Cửa hàng mở cửa lúc mấy giờ?")
        )
    assert hits == 1


async def test_a_question_nobody_can_answer_is_kept_in_the_same_commit(bot):
    await bot.services.faq.import_file(DEMO_FAQ)
    lan, _ = await linked_customer(bot)

    with DatabaseUse(bot.services.db.engine) as use:
        answer = await lan.says("Con mèo của tôi tên là gì?")
        await settled(bot)

    assert "chưa có câu trả lời" in answer.text
    assert (use.sessions, use.commits, use.sender_lookups) == (1, 1, 1)
    (group,) = await bot.services.faq.unanswered()
    assert group.example == "Con mèo của tôi tên là gì?"


async def test_orders_cost_one_session_and_one_commit(bot):
    lan, record = await linked_customer(bot)
    order = await make_order(bot.services, record, code="DH-000777")

    with DatabaseUse(bot.services.db.engine) as use:
        orders = await lan.says("/orders")
        await settled(bot)

    assert order.code in orders.text
    assert (use.sessions, use.commits, use.sender_lookups) == (1, 1, 1)
    assert await logged(bot, lan) == [("in", "/orders"), ("out", orders.raw_text)]


async def test_a_message_relayed_to_an_open_ticket_costs_one_session_and_one_commit(bot):
    lan, _ = await linked_customer(bot)
    ticket = await bot.services.complaints.file(
        lan.id, Draft(category="delivery", severity="medium", description="Hàng giao trễ")
    )

    with DatabaseUse(bot.services.db.engine) as use:
        await lan.sends("Em đợi đến bao giờ ạ?")
        relayed = await bot.sandbox.wait_for(bot.staff_chat, lambda m: "đợi đến" in m.text)
        # Posted first, then stored with where it was posted: wait for that commit.
        for _ in range(50):
            if use.commits:
                break
            await asyncio.sleep(0.1)
        await settled(bot)

    assert ticket.code in relayed.text
    assert (use.sessions, use.commits, use.sender_lookups) == (1, 1, 1)
    # Stored with the staff chat's message, so a reply to it finds the ticket.
    async with bot.services.db.uow() as uow:
        where = await uow.session.scalars(
            select(ComplaintMessage.staff_chat_message_id).where(
                ComplaintMessage.text == "Em đợi đến bao giờ ạ?"
            )
        )
        assert where.all() == [relayed.message_id]
    assert [direction for direction, _ in await logged(bot, lan)] == ["in"]


async def test_a_flooding_customers_extra_messages_write_nothing(bot):
    bot.application.bot_data["flood_guard"].per_minute = 3
    lan, _ = await linked_customer(bot)
    for _ in range(3):
        await lan.says("/help")
    before = await logged(bot, lan)

    with DatabaseUse(bot.services.db.engine) as use:
        warning = await lan.says("/help")
        for _ in range(3):
            await lan.sends("/help")
        await settled(bot)

    assert "hơi nhanh" in warning.text
    assert (use.sessions, use.commits, use.writes) == (0, 0, [])
    assert await logged(bot, lan) == before
    assert sum("hơi nhanh" in m.text for m in lan.messages) == 1


async def test_an_answer_that_cannot_be_delivered_is_taken_back_from_the_log(bot):
    await bot.services.faq.import_file(DEMO_FAQ)
    lan, _ = await linked_customer(bot)
    await lan.sends("cua hang mo cua luc may gio")
    bot.sandbox.block(lan.user)  # before the bot has even fetched her question

    await settled(bot)

    # Stored before it was sent, the answer that then failed is taken back when the
    # update ends (give it that moment: the bot went quiet with the failed send).
    # Her question is committed with the update; the failed answer is then taken back.
    for _ in range(100):
        log = await logged(bot, lan)
        answered = [entry for entry in log if entry[0] == "out"]
        if ("in", "cua hang mo cua luc may gio") in log and not answered:
            break
        await asyncio.sleep(0.1)
    assert ("in", "cua hang mo cua luc may gio") in log
    assert [entry for entry in log if entry[0] == "out"] == []
