"""The FAQ learns how customers ask: a wording confirmed by tapping a suggestion answers
directly later; staff see every learned wording and can remove it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from care.core.settings import Settings
from tests.builders import database_env

pytestmark = pytest.mark.e2e

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
RETURNS = "Chính sách đổi trả hàng như thế nào?"
WORDING = "đổi ý được không"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"faq_learn_confirmations": 2, "faq_learn_quiet_minutes": 0})


@pytest.fixture
async def faq_bot(bot):
    report = await bot.services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return bot


async def test_a_wording_two_customers_confirmed_is_answered_directly(faq_bot):
    for name in ("Lan", "Minh"):
        customer = faq_bot.customer(name)
        choices = await customer.says(WORDING)
        assert choices.text.startswith("Bạn muốn hỏi…?")
        answer = await customer.presses(RETURNS)
        assert "Trong 7 ngày" in answer.text

    hoa = faq_bot.customer("Hoa")
    answer = await hoa.says(WORDING)

    assert "Trong 7 ngày" in answer.text
    assert answer.buttons == []
    (learned,) = await faq_bot.services.faq.learned()
    assert (learned.text, learned.source, learned.confirmations) == (WORDING, "customers", 2)


async def test_one_customer_is_not_enough(faq_bot):
    lan = faq_bot.customer("Lan")
    await lan.says(WORDING)
    await lan.presses(RETURNS)
    await lan.says(WORDING)  # asking again: the tap did not settle it
    await lan.presses(RETURNS)

    again = await faq_bot.customer("Hoa").says(WORDING)

    assert again.text.startswith("Bạn muốn hỏi…?")
    assert await faq_bot.services.faq.learned() == []


async def test_a_customer_who_asks_again_does_not_confirm(faq_bot):
    for name in ("Lan", "Minh"):
        customer = faq_bot.customer(name)
        await customer.says(WORDING)
        await customer.presses(RETURNS)
        if name == "Lan":
            await customer.says("vẫn không hiểu, cho gặp nhân viên")

    assert await faq_bot.services.faq.learned() == []
    (pending,) = await faq_bot.services.faq.pending()
    assert (pending.text, pending.customers) == (WORDING, 1)


async def test_staff_list_and_remove_a_learned_wording(faq_bot):
    for name in ("Lan", "Minh"):
        customer = faq_bot.customer(name)
        await customer.says(WORDING)
        await customer.presses(RETURNS)
    (learned,) = await faq_bot.services.faq.learned()
    env = {**database_env(faq_bot.settings), "COLUMNS": "250"}
    runner = CliRunner()

    listed = await asyncio.to_thread(runner.invoke, app, ["faq", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert WORDING in listed.output and "customers" in listed.output
    removed = await asyncio.to_thread(
        runner.invoke, app, ["faq", "forget", str(learned.alternate_id)], env=env
    )
    assert removed.exit_code == 0, removed.output
    await faq_bot.services.faq.load()

    again = await faq_bot.customer("Hoa").says(WORDING)

    assert again.text.startswith("Bạn muốn hỏi…?")
    assert await faq_bot.services.faq.learned() == []
