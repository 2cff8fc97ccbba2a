"""FAQ self-service: answer what can be answered, learn from what could not.

Entries and their alternate phrasings live in the database; matching runs against an
in-memory ``FaqIndex`` built once at start and rebuilt whenever entries change, so a
customer's message costs a lookup, not a query over the whole FAQ. Questions nobody could
answer are kept (folded, for grouping): they are unmet demand and the next FAQ entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from rapidfuzz import fuzz, process
from sqlalchemy import Table, Update, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from care.core.db import Database, UnitOfWork
from care.core.models import (
    FaqAlternate,
    FaqConfirmation,
    FaqEntry,
    FaqLearnedAlternate,
    UnansweredQuestion,
    faq_asker_key,
)
from care.core.settings import Settings
from care.core.text import clean, fold, utcnow
from care.faq.index import FaqIndex, MatchKind, Phrasing
from care.faq.lexicon import Lexicon
from care.io import (
    CellError,
    Columns,
    ImportFileError,
    ImportLimits,
    ImportReport,
    Row,
    RowError,
    check_headers,
    header_key,
    iter_rows,
    limited,
    parse_language,
    read_table,
    row_errors,
)

SUGGESTIONS = 3
# Two unanswered questions are "the same question" from this token_set_ratio on: word
# order and extra words ("cho em hỏi ...") do not split a group.
GROUPING_THRESHOLD = 85.0

FAQ_COLUMNS = Columns(
    required=("question", "answer"), optional=("alternates", "language", "category")
)


@dataclass(frozen=True)
class FaqEntryView:
    """An FAQ entry as the bot and staff see it."""

    id: int
    language: str
    category: str | None
    question: str
    answer: str
    alternates: tuple[str, ...] = ()
    hits: int = 0


@dataclass(frozen=True)
class Suggestion:
    """An entry offered to the customer when no answer is certain enough."""

    id: int
    question: str


@dataclass(frozen=True)
class FaqAnswer:
    """What to tell the customer: ``entry`` for an answer, ``suggestions`` to choose from."""

    kind: MatchKind
    entry: FaqEntryView | None = None
    suggestions: tuple[Suggestion, ...] = ()


@dataclass(frozen=True)
class UnansweredGroup:
    """Unanswered questions that ask the same thing, with how often and when last."""

    example: str
    count: int
    languages: tuple[str, ...]
    last_asked: datetime
    question_ids: tuple[int, ...]


@dataclass(frozen=True)
class AddedEntry:
    entry: FaqEntryView
    answered: int  # unanswered questions the new entry now answers


@dataclass(frozen=True)
class LearnedPhrasing:
    """An alternate learned from customers or approved by staff; staff may remove it."""

    alternate_id: int
    entry_id: int
    entry_question: str
    text: str
    source: str  # customers | staff
    confirmations: int
    created_at: datetime


@dataclass(frozen=True)
class PendingPhrasing:
    """A wording customers confirmed for an entry, not yet often enough to be learned."""

    confirmation_id: int  # the latest confirmation: what staff approve by
    entry_id: int
    entry_question: str
    text: str
    customers: int


def asker_key(user_id: int) -> str:
    """A pseudonym for a Telegram account: tells customers apart, says nothing more."""
    return faq_asker_key(user_id)


@dataclass(frozen=True)
class _Snapshot:
    """The index and the entries it points at, swapped together so they always agree."""

    index: FaqIndex
    entries: dict[int, FaqEntryView]
    fingerprint: tuple[Any, ...]


class FaqService:
    """Answers questions from the FAQ and keeps the FAQ and its index in step."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.lexicon = Lexicon.load(settings.faq_synonyms_file)
        self._snapshot = _Snapshot(self._build([]), {}, ())
        self._hit = _hit_statement()  # one statement for every hit: built once

    # --- the index ------------------------------------------------------------------------

    async def load(self) -> None:
        """(Re)build the index from the database: at start and after every change."""
        async with self.db.uow() as uow:
            fingerprint = await _fingerprint(uow.session)
            entries = (
                await uow.session.scalars(
                    select(FaqEntry)
                    .where(FaqEntry.active.is_(True))
                    .options(selectinload(FaqEntry.alternates))
                    .order_by(FaqEntry.id)
                )
            ).all()
            views = {entry.id: _view(entry) for entry in entries}
        phrasings = [
            Phrasing(view.id, view.language, text)
            for view in views.values()
            for text in (view.question, *view.alternates)
        ]
        # Building is CPU work: off the event loop, so the bot keeps answering meanwhile.
        index = await asyncio.to_thread(self._build, phrasings)
        self._snapshot = _Snapshot(index, views, fingerprint)

    async def refresh_if_changed(self) -> bool:
        """Rebuild only if another process (an import from the CLI) changed the FAQ.

        Wordings whose quiet time has passed are learned first. A few small queries;
        meant for a periodic job, not for every message.
        """
        if await self.learn():
            return True
        async with self.db.uow() as uow:
            fingerprint = await _fingerprint(uow.session)
        if fingerprint == self._snapshot.fingerprint:
            return False
        await self.load()
        return True

    def _build(self, phrasings: Iterable[Phrasing]) -> FaqIndex:
        return FaqIndex.build(
            phrasings,
            answer_threshold=self.settings.faq_answer_threshold,
            suggest_threshold=self.settings.faq_suggest_threshold,
            answer_margin=self.settings.faq_answer_margin,
            lexicon=self.lexicon,
        )

    # --- customers ask ------------------------------------------------------------------------

    async def ask(
        self,
        text: str,
        language: str | None = None,
        customer_id: int | None = None,
        *,
        uow: UnitOfWork | None = None,
        asker: str | None = None,
    ) -> FaqAnswer:
        """Answer, suggest up to three entries, or record the question as unanswered.

        In the caller's ``uow`` (the bot's update) the hit or the unanswered question is
        stored when the caller commits; without one, at once.
        """
        language = language or self.settings.default_language
        text = clean(text)
        folded = fold(text)
        if not folded:
            return FaqAnswer("none")
        if asker is not None:
            await self._dispute(asker, uow)
        snapshot = self._snapshot
        match = snapshot.index.match(text, language, limit=SUGGESTIONS)
        candidates = [c for c in match.candidates if c.entry_id in snapshot.entries]
        if match.kind == "answer" and candidates:
            entry = snapshot.entries[candidates[0].entry_id]
            async with self.db.uow(within=uow) as work:
                work.later(self._hit, {"entry_id": entry.id})
                await work.commit()
            return FaqAnswer("answer", entry=entry)
        if match.kind != "none" and candidates:
            suggestions = tuple(
                Suggestion(c.entry_id, snapshot.entries[c.entry_id].question)
                for c in candidates[:SUGGESTIONS]
            )
            return FaqAnswer("suggest", suggestions=suggestions)
        async with self.db.uow(within=uow) as work:
            work.session.add(
                UnansweredQuestion(
                    customer_id=customer_id,
                    language=language,
                    text=text,
                    folded=folded,
                    created_at=self.clock(),
                )
            )
            await work.commit()
        return FaqAnswer("none")

    async def entry(self, entry_id: int, *, count_hit: bool = False) -> FaqEntryView | None:
        """An active entry, or None (a suggestion the customer tapped may since be gone).

        ``count_hit`` when the customer picked it from suggestions: hits then measure every
        question the FAQ settled, not only the confident answers.
        """
        async with self.db.uow() as uow:
            found = await uow.session.scalar(
                select(FaqEntry)
                .where(FaqEntry.id == entry_id, FaqEntry.active.is_(True))
                .options(selectinload(FaqEntry.alternates))
            )
            if found is None:
                return None
            view = _view(found)
            if count_hit:
                await uow.session.execute(self._hit, {"entry_id": entry_id})
                await uow.commit()
            return view

    async def entries(self, language: str | None = None) -> list[FaqEntryView]:
        """Every active entry, by language and category, for staff to review."""
        query = (
            select(FaqEntry)
            .where(FaqEntry.active.is_(True))
            .options(selectinload(FaqEntry.alternates))
            .order_by(FaqEntry.language, FaqEntry.category, FaqEntry.id)
        )
        if language:
            query = query.where(FaqEntry.language == language)
        async with self.db.uow() as uow:
            return [_view(entry) for entry in (await uow.session.scalars(query)).all()]

    # --- staff change the FAQ ----------------------------------------------------------------

    async def add(
        self,
        question: str,
        answer: str,
        language: str,
        category: str | None = None,
        alternates: Sequence[str] = (),
        *,
        mark_answered: bool = True,
        unanswered_ids: Iterable[int] = (),
    ) -> AddedEntry:
        """Add an entry and rebuild the index.

        With ``mark_answered``, unanswered questions the new entry now answers are marked
        as answered by it, and so are ``unanswered_ids`` (a group promoted by staff).
        Raises ValueError for an empty question or answer, an unknown language, or a
        question that already has an entry in that language.
        """
        question, answer = clean(question), answer.strip()
        if not fold(question) or not answer:
            raise ValueError("question and answer must not be empty")
        if language not in ("vi", "en"):
            raise ValueError(f"language '{language}' is not vi or en")
        async with self.db.uow() as uow:
            existing = await _entry_keys(uow.session)
            same = existing.get((fold(question), language))
            if same is not None:
                raise ValueError(f"entry {same} already has this question in {language}")
            entry = FaqEntry(
                question=question,
                answer=answer,
                language=language,
                category=clean(category) if category else None,
            )
            entry.alternates = [FaqAlternate(text=t) for t in _distinct(alternates, question)]
            uow.session.add(entry)
            await uow.commit()
            entry_id = entry.id
        await self.load()
        answered = await self._mark_answered(
            {entry_id} if mark_answered else set(), set(unanswered_ids), entry_id
        )
        return AddedEntry(self._snapshot.entries[entry_id], answered)

    async def edit(
        self,
        entry_id: int,
        question: str,
        answer: str,
        category: str | None = None,
        alternates: Sequence[str] = (),
    ) -> FaqEntryView | None:
        """Change an active entry and rebuild the index; None if there is no such entry.
        Raises ValueError as ``add`` does (empty text, a question another entry has)."""
        question, answer = clean(question), answer.strip()
        if not fold(question) or not answer:
            raise ValueError("question and answer must not be empty")
        async with self.db.uow() as uow:
            entry = await uow.session.scalar(
                select(FaqEntry)
                .where(FaqEntry.id == entry_id, FaqEntry.active.is_(True))
                .options(selectinload(FaqEntry.alternates))
            )
            if entry is None:
                return None
            existing = await _entry_keys(uow.session)
            same = existing.get((fold(question), entry.language))
            if same is not None and same != entry_id:
                raise ValueError(f"entry {same} already has this question in {entry.language}")
            entry.question, entry.answer = question, answer
            entry.category = clean(category) if category else None
            entry.updated_at = self.clock()
            entry.alternates = [FaqAlternate(text=t) for t in _distinct(alternates, question)]
            await uow.commit()
        await self.load()
        await self._mark_answered({entry_id}, set())
        return self._snapshot.entries.get(entry_id)

    async def remove(self, entry_id: int) -> bool:
        """Take an entry out of the FAQ (kept, inactive, so answers once given still name
        it); False if it was not active."""
        async with self.db.uow() as uow:
            done = await uow.session.execute(
                update(FaqEntry)
                .where(FaqEntry.id == entry_id, FaqEntry.active.is_(True))
                .values(active=False, updated_at=self.clock())
            )
            await uow.commit()
        if not done.rowcount:  # type: ignore[attr-defined]  # DML runs give a CursorResult
            return False
        await self.load()
        return True

    async def _mark_answered(
        self, entry_ids: set[int], explicit: set[int], explicit_entry: int | None = None
    ) -> int:
        """Close unanswered questions the index now answers with one of ``entry_ids``."""
        marks: dict[int, int] = {}
        if explicit and explicit_entry is not None:
            marks.update(dict.fromkeys(explicit, explicit_entry))
        async with self.db.uow() as uow:
            if entry_ids:
                open_questions = await uow.session.execute(
                    select(
                        UnansweredQuestion.id, UnansweredQuestion.text, UnansweredQuestion.language
                    ).where(UnansweredQuestion.answered_by_entry_id.is_(None))
                )
                index = self._snapshot.index
                for question_id, text, language in open_questions:
                    found = index.match(text, language, limit=1)
                    if found.kind == "answer" and found.candidates[0].entry_id in entry_ids:
                        marks.setdefault(question_id, found.candidates[0].entry_id)
            if not marks:
                return 0
            await uow.session.execute(
                update(UnansweredQuestion),
                [{"id": qid, "answered_by_entry_id": eid} for qid, eid in marks.items()],
            )
            await uow.commit()
        return len(marks)

    async def import_file(self, path: Path | str, *, check_only: bool = False) -> ImportReport:
        """Create or update entries from CSV, XLSX or YAML; all rows or none. With
        ``check_only`` nothing is kept: the report says what the import would do.

        An entry is identified by its question (folded) and language, so re-importing an
        edited file updates answers and alternates instead of duplicating entries.
        """
        rows, unit, errors = _faq_rows(Path(path), self.settings.default_language)
        if errors:
            return ImportReport(errors=errors)
        parsed: list[tuple[int, dict[str, Any]]] = []
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            values = _faq_values(row, self.settings.default_language)
            if values is not None:
                key = (fold(values["question"]), values["language"])
                if key in seen:
                    row.problems.append(f"the same question is on {unit} {seen[key]}")
                seen.setdefault(key, row.number)
            if row.problems:
                errors.extend(row_errors(row, unit))
            elif values is not None:
                parsed.append((row.number, values))
        if errors:
            return ImportReport(errors=errors)

        report = ImportReport()
        touched: set[int] = set()
        created: list[FaqEntry] = []
        async with self.db.uow() as uow:
            session = uow.session
            existing = await _entry_keys(session)
            for _, values in parsed:
                alternates = values.pop("alternates")
                entry_id = existing.get((fold(values["question"]), values["language"]))
                if entry_id is None:
                    entry = FaqEntry(**values)
                    entry.alternates = [FaqAlternate(text=t) for t in alternates]
                    session.add(entry)
                    created.append(entry)
                else:
                    await session.execute(
                        update(FaqEntry)
                        .where(FaqEntry.id == entry_id)
                        .values(**values, active=True, updated_at=self.clock())
                    )
                    # Learned alternates are not in the file: they stay until staff remove them.
                    await session.execute(
                        delete(FaqAlternate).where(
                            FaqAlternate.entry_id == entry_id,
                            FaqAlternate.id.not_in(select(FaqLearnedAlternate.alternate_id)),
                        )
                    )
                    session.add_all(FaqAlternate(entry_id=entry_id, text=t) for t in alternates)
                    touched.add(entry_id)
                    report.updated += 1
            await session.flush()
            touched.update(entry.id for entry in created)
            if check_only:
                report.created = len(created)
                return report  # the unit of work rolls back
            await uow.commit()
        report.created = len(created)
        await self.load()
        await self._mark_answered(touched, set())
        return report

    # --- learning from customers and staff ---------------------------------------------------

    async def _dispute(self, asker: str, uow: UnitOfWork | None) -> None:
        """The customer asks again: a suggestion they tapped just before did not settle it."""
        since = self.clock() - timedelta(minutes=self.settings.faq_learn_quiet_minutes)
        async with self.db.uow(within=uow) as work:
            await work.session.execute(
                update(FaqConfirmation)
                .where(
                    FaqConfirmation.asker == asker,
                    FaqConfirmation.tapped_at >= since,
                    FaqConfirmation.alternate_id.is_(None),
                    FaqConfirmation.disputed.is_(False),
                )
                .values(disputed=True)
            )
            await work.commit()

    async def confirm(self, entry_id: int, text: str, language: str, asker: str) -> bool:
        """A customer who asked ``text`` tapped the suggestion ``entry_id``.

        Returns True if the wording was learned at once (enough customers confirmed it).
        A wording the FAQ already answers with that entry teaches nothing and is not kept.
        """
        text = clean(text)
        folded = fold(text)
        snapshot = self._snapshot
        if not folded or entry_id not in snapshot.entries:
            return False
        found = snapshot.index.match(text, language, limit=1)
        if found.kind == "answer" and found.candidates[0].entry_id == entry_id:
            return False
        async with self.db.uow() as uow:
            uow.session.add(
                FaqConfirmation(
                    entry_id=entry_id,
                    language=language,
                    text=text,
                    folded=folded,
                    asker=asker,
                    tapped_at=self.clock(),
                )
            )
            await uow.commit()
        return await self.learn() > 0

    async def learn(self) -> int:
        """Make alternates of the wordings enough different customers confirmed; how many.

        A confirmation counts once its quiet time is over without the customer asking again.
        """
        quiet_since = self.clock() - timedelta(minutes=self.settings.faq_learn_quiet_minutes)
        customers = func.count(func.distinct(FaqConfirmation.asker))
        async with self.db.uow() as uow:
            ready = (
                await uow.session.execute(
                    select(FaqConfirmation.entry_id, FaqConfirmation.folded, customers)
                    .where(
                        FaqConfirmation.alternate_id.is_(None),
                        FaqConfirmation.disputed.is_(False),
                        FaqConfirmation.tapped_at <= quiet_since,
                    )
                    .group_by(FaqConfirmation.entry_id, FaqConfirmation.folded)
                    .having(customers >= self.settings.faq_learn_confirmations)
                )
            ).all()
            for entry_id, folded, count in ready:
                await self._make_alternate(uow.session, entry_id, folded, "customers", count)
            await uow.commit()
        if ready:
            await self.load()
        return len(ready)

    async def approve(self, confirmation_id: int) -> LearnedPhrasing | None:
        """Staff approve a pending wording at once; None if there is no such pending one."""
        async with self.db.uow() as uow:
            found = await uow.session.get(FaqConfirmation, confirmation_id)
            if found is None or found.alternate_id is not None:
                return None
            count = await uow.session.scalar(
                select(func.count(func.distinct(FaqConfirmation.asker))).where(
                    FaqConfirmation.entry_id == found.entry_id,
                    FaqConfirmation.folded == found.folded,
                )
            )
            alternate_id = await self._make_alternate(
                uow.session, found.entry_id, found.folded, "staff", count or 0
            )
            await uow.commit()
        await self.load()
        return next((p for p in await self.learned() if p.alternate_id == alternate_id), None)

    async def _make_alternate(
        self, session: AsyncSession, entry_id: int, folded: str, source: str, count: int
    ) -> int:
        latest = await session.scalar(
            select(FaqConfirmation.text)
            .where(FaqConfirmation.entry_id == entry_id, FaqConfirmation.folded == folded)
            .order_by(FaqConfirmation.id.desc())
            .limit(1)
        )
        alternate = FaqAlternate(entry_id=entry_id, text=latest or folded)
        session.add(alternate)
        await session.flush()
        session.add(
            FaqLearnedAlternate(
                alternate_id=alternate.id,
                source=source,
                confirmations=count,
                created_at=self.clock(),
            )
        )
        await session.execute(
            update(FaqConfirmation)
            .where(
                FaqConfirmation.entry_id == entry_id,
                FaqConfirmation.folded == folded,
                FaqConfirmation.alternate_id.is_(None),
            )
            .values(alternate_id=alternate.id)
        )
        await session.execute(
            update(FaqEntry).where(FaqEntry.id == entry_id).values(updated_at=self.clock())
        )
        return alternate.id

    async def add_alternate(self, entry_id: int, text: str) -> LearnedPhrasing | None:
        """Staff say ``text`` asks entry ``entry_id``'s question; None if no such entry.

        Raises ValueError for an empty text.
        """
        text = clean(text)
        if not fold(text):
            raise ValueError("the question must not be empty")
        async with self.db.uow() as uow:
            if await uow.session.get(FaqEntry, entry_id) is None:
                return None
            alternate = FaqAlternate(entry_id=entry_id, text=text)
            uow.session.add(alternate)
            await uow.session.flush()
            uow.session.add(
                FaqLearnedAlternate(
                    alternate_id=alternate.id, source="staff", created_at=self.clock()
                )
            )
            await uow.session.execute(
                update(FaqEntry).where(FaqEntry.id == entry_id).values(updated_at=self.clock())
            )
            await uow.commit()
            alternate_id = alternate.id
        await self.load()
        await self._mark_answered({entry_id}, set())
        return next((p for p in await self.learned() if p.alternate_id == alternate_id), None)

    async def learned(self) -> list[LearnedPhrasing]:
        """Every learned or staff-approved alternate, newest first."""
        query = (
            select(
                FaqLearnedAlternate.alternate_id,
                FaqLearnedAlternate.source,
                FaqLearnedAlternate.confirmations,
                FaqLearnedAlternate.created_at,
                FaqAlternate.text,
                FaqEntry.id,
                FaqEntry.question,
            )
            .join(FaqAlternate, FaqAlternate.id == FaqLearnedAlternate.alternate_id)
            .join(FaqEntry, FaqEntry.id == FaqAlternate.entry_id)
            .order_by(FaqLearnedAlternate.created_at.desc(), FaqAlternate.id.desc())
        )
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
        return [
            LearnedPhrasing(
                alternate_id=alternate_id,
                entry_id=entry_id,
                entry_question=question,
                text=text,
                source=source,
                confirmations=confirmations,
                created_at=created_at,
            )
            for alternate_id, source, confirmations, created_at, text, entry_id, question in rows
        ]

    async def pending(self) -> list[PendingPhrasing]:
        """Wordings customers confirmed, not yet learned, most confirmed first."""
        customers = func.count(func.distinct(FaqConfirmation.asker))
        query = (
            select(
                func.max(FaqConfirmation.id),
                FaqConfirmation.entry_id,
                FaqConfirmation.folded,
                customers,
            )
            .where(FaqConfirmation.alternate_id.is_(None), FaqConfirmation.disputed.is_(False))
            .group_by(FaqConfirmation.entry_id, FaqConfirmation.folded)
            .order_by(customers.desc(), func.max(FaqConfirmation.id).desc())
        )
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query)).all()
            texts = dict(
                (
                    await uow.session.execute(
                        select(FaqConfirmation.id, FaqConfirmation.text).where(
                            FaqConfirmation.id.in_([row[0] for row in rows])
                        )
                    )
                ).all()
            )
        entries = self._snapshot.entries
        return [
            PendingPhrasing(
                confirmation_id=latest,
                entry_id=entry_id,
                entry_question=entries[entry_id].question if entry_id in entries else "",
                text=texts.get(latest, folded),
                customers=count,
            )
            for latest, entry_id, folded, count in rows
        ]

    async def forget(self, alternate_id: int) -> bool:
        """Remove a learned alternate; the customers' confirmations of it no longer count.

        Returns False if ``alternate_id`` is not a learned alternate.
        """
        async with self.db.uow() as uow:
            learned = await uow.session.get(FaqLearnedAlternate, alternate_id)
            alternate = await uow.session.get(FaqAlternate, alternate_id)
            if learned is None or alternate is None:
                return False
            await uow.session.execute(
                update(FaqConfirmation)
                .where(FaqConfirmation.alternate_id == alternate_id)
                .values(disputed=True, alternate_id=None)
            )
            entry_id = alternate.entry_id
            await uow.session.execute(
                delete(FaqLearnedAlternate).where(FaqLearnedAlternate.alternate_id == alternate_id)
            )
            await uow.session.execute(delete(FaqAlternate).where(FaqAlternate.id == alternate_id))
            await uow.session.execute(
                update(FaqEntry).where(FaqEntry.id == entry_id).values(updated_at=self.clock())
            )
            await uow.commit()
        await self.load()
        return True

    async def group_of(self, question_id: int) -> UnansweredGroup | None:
        """The open group of unanswered questions that holds question ``question_id``."""
        for group in await self.unanswered():
            if question_id in group.question_ids:
                return group
        return None

    async def answer_unanswered(self, question_id: int, answer: str) -> AddedEntry | None:
        """Staff answer an unanswered question: it becomes an entry in its language, and
        every question of its group counts as answered. None if no open question has that
        number; ValueError for an empty answer or a question that already has an entry."""
        group = await self.group_of(question_id)
        if group is None:
            return None
        async with self.db.uow() as uow:
            language = await uow.session.scalar(
                select(UnansweredQuestion.language).where(UnansweredQuestion.id == question_id)
            )
        return await self.add(
            group.example,
            answer,
            language or self.settings.default_language,
            unanswered_ids=group.question_ids,
        )

    async def alternate_from_unanswered(
        self, question_id: int, entry_id: int
    ) -> LearnedPhrasing | None:
        """Staff say an unanswered question asks entry ``entry_id``'s question: its wording
        becomes an alternate and its group counts as answered by that entry. None if there
        is no such open question or active entry."""
        group = await self.group_of(question_id)
        if group is None or entry_id not in self._snapshot.entries:
            return None
        learned = await self.add_alternate(entry_id, group.example)
        if learned is not None:
            await self._mark_answered(set(), set(group.question_ids), entry_id)
        return learned

    # --- unmet demand --------------------------------------------------------------------------

    async def unanswered(self, since: datetime | None = None) -> list[UnansweredGroup]:
        """Open unanswered questions grouped by similarity, most asked first."""
        query = select(
            UnansweredQuestion.id,
            UnansweredQuestion.text,
            UnansweredQuestion.folded,
            UnansweredQuestion.language,
            UnansweredQuestion.created_at,
        ).where(UnansweredQuestion.answered_by_entry_id.is_(None))
        if since is not None:
            query = query.where(UnansweredQuestion.created_at >= since)
        async with self.db.uow() as uow:
            rows = (await uow.session.execute(query.order_by(UnansweredQuestion.id))).all()
        return group_questions(rows)


def group_questions(rows: Iterable[Sequence[Any]]) -> list[UnansweredGroup]:
    """Greedy clustering of (id, text, folded, language, created_at) rows.

    Identical folded texts are merged first; then each distinct text, most frequent
    first, joins the first group whose representative is similar enough, or starts one.
    """
    same: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        same.setdefault(row[2], []).append(row)
    forms = sorted(same, key=lambda f: (-len(same[f]), -max(r[4] for r in same[f]).timestamp()))
    representatives: list[str] = []
    clusters: list[list[str]] = []
    for form in forms:
        found = process.extractOne(
            form, representatives, scorer=fuzz.token_set_ratio, score_cutoff=GROUPING_THRESHOLD
        )
        if found is None:
            representatives.append(form)
            clusters.append([form])
        else:
            clusters[found[2]].append(form)
    groups = []
    for forms_in_group in clusters:
        members = [row for form in forms_in_group for row in same[form]]
        latest_of_top = max(same[forms_in_group[0]], key=lambda r: r[4])
        groups.append(
            UnansweredGroup(
                example=latest_of_top[1],
                count=len(members),
                languages=tuple(sorted({row[3] for row in members})),
                last_asked=max(row[4] for row in members),
                question_ids=tuple(sorted(row[0] for row in members)),
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return groups


# --- helpers -----------------------------------------------------------------------------------


def _view(entry: FaqEntry) -> FaqEntryView:
    return FaqEntryView(
        id=entry.id,
        language=entry.language,
        category=entry.category,
        question=entry.question,
        answer=entry.answer,
        alternates=tuple(alt.text for alt in entry.alternates),
        hits=entry.hits,
    )


def _distinct(alternates: Iterable[str], question: str) -> list[str]:
    """Alternates without blanks, repeats, or the question itself (compared folded)."""
    seen = {fold(question)}
    kept = []
    for text in alternates:
        text = clean(text)
        if fold(text) and fold(text) not in seen:
            seen.add(fold(text))
            kept.append(text)
    return kept


def _hit_statement() -> Update:
    """One more hit for the entry ``entry_id`` (a bound parameter).

    On the table: the ORM has nothing to keep in step with a counter. updated_at stays
    (a hit is not an edit, and it keeps the change fingerprint).
    """
    entries = cast(Table, FaqEntry.__table__)
    return (
        update(entries)
        .where(entries.c.id == bindparam("entry_id"))
        .values(hits=entries.c.hits + 1, updated_at=entries.c.updated_at)
    )


async def _entry_keys(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(select(FaqEntry.id, FaqEntry.question, FaqEntry.language))
    return {(fold(question), language): entry_id for entry_id, question, language in rows}


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    entries = (
        await session.execute(select(func.count(FaqEntry.id), func.max(FaqEntry.updated_at)))
    ).one()
    alternates = (
        await session.execute(select(func.count(FaqAlternate.id), func.max(FaqAlternate.id)))
    ).one()
    return (*entries, *alternates)


# An answer is longer than a customer record's cell: up to what one Telegram message holds
# and then some (the bot pages longer texts); the file's size and rows keep their limits.
FAQ_LIMITS = ImportLimits(max_cell=20_000)


def _faq_rows(path: Path, default_language: str) -> tuple[list[Row], str, list[RowError]]:
    """Rows of a CSV/XLSX file (unit "row") or the entries of a YAML list (unit "entry")."""
    if path.suffix.lower() not in (".yaml", ".yml"):
        table = read_table(path, FAQ_LIMITS)
        keys, errors = check_headers(table, FAQ_COLUMNS)
        if errors:
            return [], "row", errors
        rows: list[Row] = []
        for row in iter_rows(table, keys):
            if isinstance(row, RowError):
                errors.append(row)
            else:
                rows.append(row)
        return rows, "row", errors
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path.name} is not readable YAML: {exc}") from exc
    if not isinstance(data, list):
        raise ImportFileError(f"{path.name}: expected a list of entries")
    rows, errors = [], []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(number, "is not a mapping of question, answer, ...", "entry"))
            continue
        cells = {header_key(key): value for key, value in item.items()}
        unknown = [str(key) for key in item if header_key(key) not in FAQ_COLUMNS.known]
        missing = [key for key in FAQ_COLUMNS.required if key not in cells]
        row = Row(number, cells)
        row.problems.extend(f"unknown field '{key}'" for key in unknown)
        row.problems.extend(f"missing field '{key}'" for key in missing)
        rows.append(row)
    return rows, "entry", errors


def _alternates(column: str, value: Any) -> list[str]:
    if isinstance(value, list):
        if not all(isinstance(item, str | int | float) for item in value):
            raise CellError(f"{column} must be a list of texts")
        return [str(item) for item in value]
    if not isinstance(value, str):
        raise CellError(f"{column} must be texts separated by |")
    return value.split("|")


def _faq_values(row: Row, default_language: str) -> dict[str, Any] | None:
    # A field missing from a YAML entry is already reported as missing, not also as empty.
    question = row.get("question", lambda _c, v: clean(str(v)), required=row.has("question"))
    answer = row.get(
        "answer", lambda _c, _v: str(row.raw["answer"]).strip(), required=row.has("answer")
    )
    language = row.get("language", parse_language, default=default_language)
    category = row.get("category", limited(50))
    none: list[str] = []
    alternates = row.get("alternates", _alternates, default=none)
    if row.problems or not question or not answer or not language:
        return None
    return {
        "question": question,
        "answer": answer,
        "language": language,
        "category": category or None,
        "alternates": _distinct(alternates or [], question),
    }
