"""The FAQ service: answers from the index, unanswered questions kept and grouped, imports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from care.core.models import FaqEntry, UnansweredQuestion
from care.faq.service import FaqService
from care.services import Services
from tests.builders import Clock, make_customer

OPENING_HOURS = "Cửa hàng mở cửa từ 8:00 đến 21:30 tất cả các ngày."
WARRANTY = "Sản phẩm được bảo hành chính hãng 12 tháng."


async def add_basic_faq(services: Services) -> dict[str, int]:
    hours = await services.faq.add(
        "Cửa hàng mở cửa lúc mấy giờ?",
        OPENING_HOURS,
        "vi",
        "store",
        ["Giờ làm việc của shop thế nào?", "Chủ nhật có mở cửa không?"],
    )
    warranty = await services.faq.add(
        "Sản phẩm được bảo hành bao lâu?",
        WARRANTY,
        "vi",
        "warranty",
        ["Thời gian bảo hành là bao lâu?"],
    )
    hours_en = await services.faq.add(
        "What are your opening hours?",
        "8:00 to 21:30 every day.",
        "en",
        "store",
        ["What time do you open?"],
    )
    return {"hours": hours.entry.id, "warranty": warranty.entry.id, "hours_en": hours_en.entry.id}


async def unanswered_rows(services: Services) -> list[UnansweredQuestion]:
    async with services.db.uow() as uow:
        rows = (
            await uow.session.scalars(select(UnansweredQuestion).order_by(UnansweredQuestion.id))
        ).all()
        uow.session.expunge_all()
        return list(rows)


@pytest.mark.parametrize(
    "question", ["Cửa hàng mở cửa lúc mấy giờ?", "cua hang mo cua luc may gio", "MẤY GIỜ MỞ CỬA"]
)
async def test_a_question_is_answered_with_or_without_diacritics(
    services: Services, question: str
) -> None:
    ids = await add_basic_faq(services)

    answer = await services.faq.ask(question, "vi")

    assert answer.kind == "answer"
    assert answer.entry is not None and answer.entry.id == ids["hours"]
    assert answer.entry.answer == OPENING_HOURS
    assert await unanswered_rows(services) == []


async def test_answering_counts_a_hit_on_the_entry(services: Services) -> None:
    ids = await add_basic_faq(services)
    await services.faq.ask("bảo hành bao lâu", "vi")
    await services.faq.ask("bao hanh bao lau", "vi")
    await services.faq.entry(ids["warranty"], count_hit=True)  # picked from suggestions
    await services.faq.entry(ids["warranty"])  # only looked at

    entry = await services.faq.entry(ids["warranty"])

    assert entry is not None and entry.hits == 3


async def test_the_index_serves_the_customers_language(services: Services) -> None:
    ids = await add_basic_faq(services)
    answer = await services.faq.ask("what time do you open", "en")
    assert answer.entry is not None and answer.entry.id == ids["hours_en"]


async def test_a_question_nobody_can_answer_is_kept_folded_with_its_customer(
    services: Services, clock: Clock
) -> None:
    await add_basic_faq(services)
    customer = await make_customer(services)

    answer = await services.faq.ask("  Có bán iPhone 16 không?? ", "vi", customer.id)

    assert (answer.kind, answer.entry, answer.suggestions) == ("none", None, ())
    [kept] = await unanswered_rows(services)
    assert (kept.text, kept.folded, kept.language) == (
        "Có bán iPhone 16 không??",
        "co ban iphone 16 khong",
        "vi",
    )
    assert kept.customer_id == customer.id and kept.created_at == clock.now


async def test_an_empty_question_is_neither_answered_nor_kept(services: Services) -> None:
    await add_basic_faq(services)
    assert (await services.faq.ask(" ?! ", "vi")).kind == "none"
    assert await unanswered_rows(services) == []


async def test_suggestions_are_at_most_three_entries_with_their_questions(
    services: Services,
) -> None:
    await add_basic_faq(services)
    for question in (
        "Phí giao hàng là bao nhiêu?",
        "Bao lâu thì giao hàng tới?",
        "Có giao hàng ra tỉnh không?",
        "Đổi địa chỉ giao hàng được không?",
    ):
        await services.faq.add(question, "…", "vi", "delivery")

    answer = await services.faq.ask("giao hàng", "vi")

    assert answer.kind == "suggest"
    assert len(answer.suggestions) == 3
    entries = {e.id: e.question for e in await services.faq.entries()}
    assert all(entries[s.id] == s.question for s in answer.suggestions)


async def test_unanswered_questions_are_grouped_with_counts_most_asked_first(
    services: Services, clock: Clock
) -> None:
    await add_basic_faq(services)
    asked = [
        ("Có bán iPhone 16 không?", "vi"),
        ("co ban iphone 16 khong", "vi"),
        ("Shop có bán iPhone 16 không ạ", "vi"),
        ("Do you sell iPhone 16?", "en"),
        ("Có cho thuê máy chiếu không?", "vi"),
        ("co cho thue may chieu khong", "vi"),
        ("Bãi đỗ xe ô tô ở đâu?", "vi"),
    ]
    for text, language in asked:
        clock.advance(minutes=1)
        assert (await services.faq.ask(text, language)).kind == "none", text

    groups = await services.faq.unanswered()

    assert [(g.count, g.languages) for g in groups] == [
        (3, ("vi",)),
        (2, ("vi",)),
        (1, ("vi",)),
        (1, ("en",)),
    ]
    assert groups[0].example in {"Có bán iPhone 16 không?", "co ban iphone 16 khong"}
    assert groups[1].example == "co cho thue may chieu khong"  # the latest wording
    assert groups[2].example == "Bãi đỗ xe ô tô ở đâu?"  # asked after the English one
    assert groups[0].last_asked == clock.now - timedelta(minutes=4)
    assert sum(len(g.question_ids) for g in groups) == len(asked)


async def test_unanswered_since_leaves_out_older_questions(
    services: Services, clock: Clock
) -> None:
    await services.faq.ask("Có bán iPhone 16 không?", "vi")
    clock.advance(days=3)
    since = clock.now
    await services.faq.ask("co ban iphone 16 khong", "vi")

    [group] = await services.faq.unanswered(since)

    assert (group.count, group.last_asked) == (1, since)


async def test_adding_an_entry_rebuilds_the_index_and_closes_what_it_answers(
    services: Services,
) -> None:
    await add_basic_faq(services)
    await services.faq.ask("Có bán iPhone 16 không?", "vi")
    await services.faq.ask("Bãi đỗ xe ô tô ở đâu?", "vi")

    added = await services.faq.add(
        "Cửa hàng có bán iPhone 16 không?",
        "Hiện chưa có.",
        "vi",
        "products",
        ["Có iPhone 16 không?"],
    )

    assert added.answered == 1
    answer = await services.faq.ask("co ban iphone 16 ko", "vi")
    assert answer.entry is not None and answer.entry.id == added.entry.id
    [open_group] = await services.faq.unanswered()
    assert open_group.example == "Bãi đỗ xe ô tô ở đâu?"


async def test_a_promoted_group_counts_as_answered(services: Services) -> None:
    await add_basic_faq(services)
    await services.faq.ask("Bãi đỗ xe ô tô ở đâu?", "vi")
    await services.faq.ask("bai do xe o to o dau", "vi")
    [group] = await services.faq.unanswered()

    added = await services.faq.add(
        "Cửa hàng có chỗ đậu xe không?",
        "Có bãi giữ xe miễn phí.",
        "vi",
        "store",
        [group.example],
        unanswered_ids=group.question_ids,
    )

    assert added.entry.alternates == (group.example,)
    assert added.answered == 2
    assert await services.faq.unanswered() == []


@pytest.mark.parametrize(
    ("question", "answer", "language", "message"),
    [
        ("", "x", "vi", "must not be empty"),
        ("Câu hỏi?", " ", "vi", "must not be empty"),
        ("Câu hỏi?", "x", "fr", "is not vi or en"),
        ("cửa hàng mở cửa lúc mấy giờ", "x", "vi", "already has this question"),
    ],
)
async def test_add_refuses_bad_entries(
    services: Services, question: str, answer: str, language: str, message: str
) -> None:
    await add_basic_faq(services)
    with pytest.raises(ValueError, match=message):
        await services.faq.add(question, answer, language)


# --- importing -------------------------------------------------------------------------------

FAQ_CSV = """question,answer,alternates,language,category
Phí giao hàng là bao nhiêu?,Miễn phí từ 500.000 ₫.,Phí ship bao nhiêu?|Có miễn phí vận chuyển không?,vi,delivery
How much is delivery?,Free from 500.000 ₫.,Is shipping free?,en,delivery
Có xuất hóa đơn VAT không?,Có.,,,payment
"""  # noqa: E501


async def test_a_csv_faq_is_imported_with_alternates_split_on_bars(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(FAQ_CSV, encoding="utf-8-sig")

    report = await services.faq.import_file(path)

    assert (report.created, report.updated, report.errors) == (3, 0, [])
    entries = {e.question: e for e in await services.faq.entries()}
    delivery = entries["Phí giao hàng là bao nhiêu?"]
    assert delivery.alternates == ("Phí ship bao nhiêu?", "Có miễn phí vận chuyển không?")
    assert (delivery.language, delivery.category) == ("vi", "delivery")
    assert entries["Có xuất hóa đơn VAT không?"].language == "vi"  # empty means vi
    answer = await services.faq.ask("phi ship bao nhieu", "vi")
    assert answer.entry is not None and answer.entry.id == delivery.id


async def test_a_faq_file_with_a_bad_row_imports_nothing(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        FAQ_CSV
        + "Có trả góp không?,,,vi,payment\n"
        + "Giờ mở cửa?,8:00-21:30,,fr,store\n"
        + "phí giao hàng là bao nhiêu,Trùng.,,vi,delivery\n",
        encoding="utf-8",
    )

    report = await services.faq.import_file(path)

    assert [str(e) for e in report.errors] == [
        "row 5: answer is empty",
        "row 6: language 'fr' is not vi or en",
        "row 7: the same question is on row 2",
    ]
    assert await services.faq.entries() == []


async def test_a_yaml_faq_takes_lists_and_reimport_updates_instead_of_duplicating(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(
        "- question: Bảo hành bao lâu?\n"
        "  answer: 12 tháng.\n"
        "  alternates:\n"
        "    - Thời gian bảo hành?\n"
        "    - Bảo hành ở đâu?\n"
        "  language: vi\n"
        "- question: How long is the warranty?\n"
        "  answer: 12 months.\n"
        "  alternates: Warranty period?|Where to repair?\n"
        "  language: en\n",
        encoding="utf-8",
    )
    first = await services.faq.import_file(path)
    path.write_text(
        "- question: bảo hành bao lâu\n"
        "  answer: 24 tháng.\n"
        "  alternates: ['Bảo hành mấy năm?']\n"
        "  language: vi\n",
        encoding="utf-8",
    )
    second = await services.faq.import_file(path)

    assert (first.created, second.created, second.updated) == (2, 0, 1)
    entries = {e.language: e for e in await services.faq.entries()}
    assert len(entries) == 2
    assert entries["vi"].answer == "24 tháng."
    assert entries["vi"].alternates == ("Bảo hành mấy năm?",)
    assert entries["en"].alternates == ("Warranty period?", "Where to repair?")
    answer = await services.faq.ask("bao hanh may nam", "vi")
    assert answer.entry is not None and answer.entry.answer == "24 tháng."


async def test_a_yaml_entry_with_an_unknown_field_is_named(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(
        "- question: A?\n  answer: B.\n- question: C?\n  anwser: D.\n", encoding="utf-8"
    )
    report = await services.faq.import_file(path)
    assert [str(e) for e in report.errors] == [
        "entry 2: unknown field 'anwser'",
        "entry 2: missing field 'answer'",
    ]


async def test_an_import_closes_the_unanswered_questions_it_answers(
    services: Services, tmp_path: Path
) -> None:
    await services.faq.ask("phí ship bao nhiêu vậy", "vi")
    path = tmp_path / "faq.csv"
    path.write_text(FAQ_CSV, encoding="utf-8")

    await services.faq.import_file(path)

    assert await services.faq.unanswered() == []


async def test_another_process_adding_entries_is_picked_up_by_refresh(
    services: Services,
) -> None:
    other = FaqService(services.db, services.settings, services.clock)
    await other.add("Có bán iPhone 16 không?", "Chưa có.", "vi")

    assert (await services.faq.ask("co ban iphone 16 khong", "vi")).kind == "none"
    assert await services.faq.refresh_if_changed() is True
    assert await services.faq.refresh_if_changed() is False
    assert (await services.faq.ask("co ban iphone 16 khong", "vi")).kind == "answer"


async def test_inactive_entries_are_not_served(services: Services) -> None:
    ids = await add_basic_faq(services)
    async with services.db.uow() as uow:
        entry = await uow.session.get(FaqEntry, ids["warranty"])
        assert entry is not None
        entry.active = False
        await uow.commit()
    await services.faq.load()

    assert await services.faq.entry(ids["warranty"]) is None
    assert (await services.faq.ask("bảo hành bao lâu", "vi")).kind != "answer"


# --- the command ------------------------------------------------------------------------------


def test_staff_promote_an_unanswered_group_from_the_command_line(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from bot.cli import app
    from care.core.settings import Settings
    from care.services import open_services

    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    (tmp_cwd / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(app, ["faq", "import", "faq.csv"])

    async def ask_customers() -> None:
        async with open_services(Settings()) as services:
            for text in ("Bãi đỗ xe ô tô ở đâu?", "bai do xe o to o dau", "Có bán iPhone không?"):
                assert (await services.faq.ask(text, "vi")).kind == "none"

    asyncio.run(ask_customers())
    listed = runner.invoke(app, ["faq", "unanswered"])
    added = runner.invoke(
        app,
        [
            "faq",
            "add",
            "--question",
            "Cửa hàng có chỗ đậu xe không?",
            "--answer",
            "Có bãi giữ xe miễn phí.",
            "--category",
            "store",
            "--from-unanswered",
            "1",
        ],
    )
    after = runner.invoke(app, ["faq", "unanswered"])
    listing = runner.invoke(app, ["faq", "list", "--language", "vi"])
    too_far = runner.invoke(
        app, ["faq", "add", "--question", "Q?", "--answer", "A", "--from-unanswered", "5"]
    )

    assert imported.exit_code == 0 and "entries created 3, updated 0" in imported.stdout
    assert listed.exit_code == 0
    first_line = next(line for line in listed.stdout.splitlines() if "│ 1 " in line)
    assert "│ 2 " in first_line and "bai do xe o to o dau" in first_line
    assert added.exit_code == 0, added.output
    assert "2 unanswered questions now answered" in added.stdout
    assert "Bãi đỗ" not in after.stdout and "iPhone" in after.stdout
    assert "đậu" in listing.stdout and "3 entries" in listing.stdout  # 2 imported, 1 added
    assert too_far.exit_code == 1 and "there are 1 unanswered groups, not 5" in too_far.stderr
