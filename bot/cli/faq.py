"""`carebot faq`: the FAQ the bot answers from, and the questions it could not answer."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from bot.cli.common import console, err_console, fail, load_settings, run
from care.core.text import format_date, format_datetime, parse_date
from care.io import ImportFileError, ImportReport

if TYPE_CHECKING:
    from care.faq import (
        AddedEntry,
        FaqEntryView,
        LearnedPhrasing,
        PendingPhrasing,
        UnansweredGroup,
    )
    from care.services import Services

app = typer.Typer(help="FAQ entries and unanswered questions.", no_args_is_help=True)

SINCE = typer.Option(None, "--since", help="Only questions asked from this day (dd/mm/yyyy).")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help=".csv, .xlsx or .yaml"),
) -> None:
    """Create or update entries (same question and language = same entry); all or nothing."""

    async def body(services: Services) -> ImportReport:
        return await services.faq.import_file(file)

    try:
        report = run(body)
    except ImportFileError as exc:
        fail(str(exc))
    if report.errors:
        for error in report.errors:
            err_console.print(str(error), highlight=False, markup=False, soft_wrap=True)
        fail(f"{file.name}: {len(report.errors)} problem(s); nothing was imported")
    console.print(f"{file.name}: entries created {report.created}, updated {report.updated}")


@app.command("list")
def list_(
    language: str | None = typer.Option(None, help="Only entries in this language (vi, en)."),
) -> None:
    """Every entry with its alternates and how often it answered a customer."""

    async def body(
        services: Services,
    ) -> tuple[list[FaqEntryView], list[LearnedPhrasing], list[PendingPhrasing]]:
        return await services.faq.entries(language), *await _learning(services)

    settings = load_settings()
    entries, learned, pending = run(body, settings)
    table = Table("id", "lang", "category", "question", "alternates", "hits")
    for entry in entries:
        table.add_row(
            str(entry.id),
            entry.language,
            entry.category or "",
            entry.question,
            "\n".join(entry.alternates),
            str(entry.hits),
        )
    console.print(table)
    console.print(f"{len(entries)} entries")
    _print_learning(learned, pending, settings.timezone)


async def _learning(services: Services) -> tuple[list[LearnedPhrasing], list[PendingPhrasing]]:
    return await services.faq.learned(), await services.faq.pending()


def _print_learning(
    learned: list[LearnedPhrasing], pending: list[PendingPhrasing], timezone: str
) -> None:
    if learned:
        table = Table("alternate", "entry", "learned wording", "from", "customers", "on")
        for phrasing in learned:
            table.add_row(
                str(phrasing.alternate_id),
                f"{phrasing.entry_id}: {phrasing.entry_question}",
                phrasing.text,
                phrasing.source,
                str(phrasing.confirmations),
                format_date(phrasing.created_at, timezone),
            )
        console.print(table)
        console.print("Remove one: carebot faq forget ALTERNATE")
    if pending:
        table = Table("#", "entry", "wording customers confirmed", "customers")
        for phrasing in pending:
            table.add_row(
                str(phrasing.confirmation_id),
                f"{phrasing.entry_id}: {phrasing.entry_question}",
                phrasing.text,
                str(phrasing.customers),
            )
        console.print(table)
        console.print("Learn one now: carebot faq approve #")


@app.command()
def learned() -> None:
    """Alternates learned from customers or approved by staff, and wordings still pending."""
    settings = load_settings()
    learned, pending = run(_learning, settings)
    if not learned and not pending:
        console.print("nothing learned yet")
        return
    _print_learning(learned, pending, settings.timezone)


@app.command()
def approve(
    number: int = typer.Argument(..., help="# of a pending wording."),
) -> None:
    """Make a pending wording an alternate of its entry now, whatever its count."""

    async def body(services: Services) -> LearnedPhrasing | None:
        return await services.faq.approve(number)

    phrasing = run(body)
    if phrasing is None:
        fail(f"no pending wording #{number}; see carebot faq learned")
    console.print(
        f"alternate {phrasing.alternate_id} of entry {phrasing.entry_id}: {phrasing.text}",
        markup=False,
        highlight=False,
    )


@app.command()
def forget(alternate: int = typer.Argument(..., help="A learned alternate's number.")) -> None:
    """Remove a learned alternate; the confirmations behind it no longer count."""

    async def body(services: Services) -> bool:
        return await services.faq.forget(alternate)

    if not run(body):
        fail(f"alternate {alternate} is not a learned alternate; see carebot faq learned")
    console.print(f"alternate {alternate} removed")


@app.command()
def unanswered(since: str | None = SINCE) -> None:
    """Questions the FAQ could not answer, grouped, most asked first."""
    settings = load_settings()
    groups = run(lambda services: _groups(services, since), settings)
    if not groups:
        console.print("no unanswered questions")
        return
    table = Table("#", "asked", "lang", "last asked", "example")
    for number, group in enumerate(groups, start=1):
        table.add_row(
            str(number),
            str(group.count),
            ",".join(group.languages),
            format_datetime(group.last_asked, settings.timezone),
            group.example,
        )
    console.print(table)
    console.print("Promote one: carebot faq add --from-unanswered N --question ... --answer ...")


@app.command()
def add(
    question: str = typer.Option(..., help="The question as customers should see it."),
    answer: str = typer.Option(..., help="The answer."),
    language: str = typer.Option("vi", help="vi or en."),
    category: str | None = typer.Option(None, help="A category, e.g. delivery."),
    alternate: list[str] = typer.Option([], help="Another way to ask (repeatable)."),
    from_unanswered: int | None = typer.Option(
        None,
        "--from-unanswered",
        min=1,
        help="Number N of `carebot faq unanswered`: that group's example becomes an alternate "
        "and its questions count as answered.",
    ),
    since: str | None = SINCE,
) -> None:
    """Add an entry; unanswered questions it answers are marked as answered."""

    async def body(services: Services) -> AddedEntry:
        alternates = list(alternate)
        ids: tuple[int, ...] = ()
        if from_unanswered is not None:
            groups = await _groups(services, since)
            if from_unanswered > len(groups):
                fail(f"there are {len(groups)} unanswered groups, not {from_unanswered}")
            group = groups[from_unanswered - 1]
            alternates.append(group.example)
            ids = group.question_ids
        try:
            return await services.faq.add(
                question, answer, language, category, alternates, unanswered_ids=ids
            )
        except ValueError as exc:
            fail(str(exc))

    added = run(body)
    console.print(
        f"entry {added.entry.id} added with {len(added.entry.alternates)} alternates; "
        f"{added.answered} unanswered questions now answered"
    )


async def _groups(services: Services, since: str | None) -> list[UnansweredGroup]:
    start = None
    if since:
        try:
            day = parse_date(since)
        except ValueError as exc:
            fail(str(exc))
        start = datetime.combine(day, time(), ZoneInfo(services.settings.timezone))
    return await services.faq.unanswered(start)
