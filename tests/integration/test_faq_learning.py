"""The FAQ's learning in the database: confirmations, their quiet time, staff approval and
removal, and the daily digest of unanswered questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from care.faq import asker_key
from tests.builders import database_env, outbox_rows

DEMO_FAQ = Path(__file__).resolve().parents[2] / "care" / "io" / "demo_faq.yaml"
WORDING = "đổi ý được không"


@pytest.fixture
async def faq(services):
    report = await services.faq.import_file(DEMO_FAQ)
    assert not report.errors
    return services.faq


async def _returns(faq) -> int:
    return next(e.id for e in await faq.entries("vi") if e.question.startswith("Chính sách đổi"))


async def test_a_wording_is_learned_once_enough_customers_confirmed_it_and_kept_quiet(faq, clock):
    entry = await _returns(faq)
    needed = faq.settings.faq_learn_confirmations  # 3 by default
    assert (await faq.ask(WORDING, "vi")).kind == "suggest"
    for user in range(needed):
        assert await faq.confirm(entry, WORDING, "vi", asker_key(user)) is False
    assert await faq.learned() == []  # the customers may still ask again

    clock.advance(minutes=faq.settings.faq_learn_quiet_minutes)
    assert await faq.learn() == 1

    (learned,) = await faq.learned()
    assert (learned.entry_id, learned.text, learned.confirmations) == (entry, WORDING, needed)
    answer = await faq.ask(WORDING, "vi")
    assert answer.kind == "answer" and answer.entry.id == entry


async def test_the_same_customer_twice_counts_once(faq, clock):
    entry = await _returns(faq)
    for _ in range(5):
        await faq.confirm(entry, WORDING, "vi", asker_key(1))
    clock.advance(minutes=60)

    assert await faq.learn() == 0
    (pending,) = await faq.pending()
    assert pending.customers == 1


async def test_asking_again_soon_after_withdraws_the_confirmation(faq, clock):
    entry = await _returns(faq)
    await faq.confirm(entry, WORDING, "vi", asker_key(1))
    clock.advance(minutes=2)
    await faq.ask("vẫn chưa rõ lắm", "vi", asker=asker_key(1))

    assert await faq.pending() == []


async def test_staff_approve_a_pending_wording_at_once_and_remove_it_later(faq):
    entry = await _returns(faq)
    await faq.confirm(entry, WORDING, "vi", asker_key(1))
    (pending,) = await faq.pending()

    learned = await faq.approve(pending.confirmation_id)

    assert learned is not None and learned.source == "staff" and learned.text == WORDING
    assert (await faq.ask(WORDING, "vi")).kind == "answer"
    assert await faq.approve(pending.confirmation_id) is None  # already learned
    assert await faq.forget(learned.alternate_id) is True
    assert await faq.learned() == [] and await faq.pending() == []
    assert (await faq.ask(WORDING, "vi")).kind == "suggest"
    assert await faq.forget(learned.alternate_id) is False


async def test_a_reimport_keeps_what_was_learned(faq):
    entry = await _returns(faq)
    await faq.confirm(entry, WORDING, "vi", asker_key(1))
    (pending,) = await faq.pending()
    await faq.approve(pending.confirmation_id)

    report = await faq.import_file(DEMO_FAQ)

    assert report.updated and not report.errors
    (learned,) = await faq.learned()
    assert learned.text == WORDING
    assert (await faq.ask(WORDING, "vi")).kind == "answer"


async def test_a_wording_already_answered_directly_teaches_nothing(faq):
    entry = await _returns(faq)

    await faq.confirm(entry, "Chính sách đổi trả hàng như thế nào?", "vi", asker_key(1))

    assert await faq.pending() == []


async def test_the_daily_digest_goes_to_the_staff_chat_once_a_day(services, faq, clock):
    assert await services.faq_digest.send() is False  # nothing to ask
    await faq.ask("Shop có bán sim số đẹp không?", "vi")
    await faq.ask("shop co ban sim so dep ko", "vi")

    assert await services.faq_digest.send() is True
    assert await services.faq_digest.send() is False  # once a day
    (row,) = await outbox_rows(services, "faq-digest:")
    assert row.recipient == str(services.settings.staff_chat_id)
    assert "2 lần" in row.body and "sim số đẹp" in row.body
    clock.advance(days=1)
    assert await services.faq_digest.send() is True


def test_a_bad_synonyms_file_stops_a_command_with_one_clear_line(settings, tmp_path) -> None:
    bad = tmp_path / "synonyms.yaml"
    bad.write_text("vi:\n  synonyms:\n    - hoàn tiền\n", encoding="utf-8")
    env = {**database_env(settings), "CAREBOT_FAQ_SYNONYMS_FILE": str(bad)}

    result = CliRunner().invoke(app, ["faq", "list"], env=env)

    assert result.exit_code == 1
    assert "CAREBOT_FAQ_SYNONYMS_FILE" in result.output and "synonym group" in result.output
    assert "Traceback" not in result.output
