"""Satisfaction surveys: CSAT, then optionally SERVQUAL, NPS and a comment.

A survey row is made when a ticket is resolved (trigger ``complaint``) or by the care
programme after a delivery (trigger ``delivery``). Both are answered the same way: the
CSAT buttons carry ``survey:<id>:csat:<1-5>``, and every later question is a button too,
so the state of a survey is its row: ``status`` says which question comes next
(``sent`` → ``servqual`` → ``nps`` → ``comment`` → ``done``).

A CSAT of 1 or 2 brings staff back in: the ticket the survey came from is reopened, and a
bad delivery rating opens a ticket of its own, in the same transaction as the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import Customer, Order, Survey
from care.core.text import clean
from care.outreach import SurveyLinks
from care.tickets.complaints import ComplaintService, Relay

CSAT, NPS = "csat", "nps"
DIMENSIONS = ("reliability", "assurance", "tangibles", "empathy", "responsiveness")
SKIP_SERVQUAL, SKIP_NPS = "skip_servqual", "skip_nps"
LOW_CSAT = 2  # this score or lower reopens the conversation with staff
MAX_COMMENT = 2000

SENT, SERVQUAL, NPS_STAGE, COMMENT, DONE = "sent", "servqual", "nps", "comment", "done"
_STAGES = (SENT, SERVQUAL, NPS_STAGE, COMMENT, DONE)
_RANGES = {CSAT: range(1, 6), NPS: range(0, 11), **{d: range(1, 6) for d in DIMENSIONS}}


class Result(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"  # no such survey, or someone else's: they look the same
    ALREADY_ANSWERED = "already_answered"
    OUT_OF_TURN = "out_of_turn"  # a button of a question not asked yet, or a bad value


@dataclass(frozen=True)
class SurveyStep:
    """Where a survey stands after an answer, and what the front end must do next."""

    result: Result
    survey_id: int
    next: str | None = None  # the next question: a dimension, "nps", "comment" or "done"
    csat: int | None = None
    trigger: str | None = None
    complaint_id: int | None = None
    order_code: str | None = None
    reopened_note_id: int | None = None  # a resolved ticket went back to staff with this note
    opened: bool = False  # a bad delivery rating opened a ticket
    relay: Relay | None = None  # the comment, stored on the ticket staff took up again

    @property
    def reopened(self) -> bool:
        return self.reopened_note_id is not None

    @property
    def ok(self) -> bool:
        return self.result == Result.OK

    @property
    def low(self) -> bool:
        return self.csat is not None and self.csat <= LOW_CSAT


def next_question(survey: Survey) -> str:
    """The question a survey waits for: "csat", a SERVQUAL dimension, "nps", "comment"
    or "done"."""
    if survey.status == SENT:
        return CSAT
    if survey.status == SERVQUAL:
        for dimension in DIMENSIONS:
            if getattr(survey, dimension) is None:
                return dimension
        return NPS
    if survey.status == NPS_STAGE:
        return NPS
    if survey.status == COMMENT:
        return "comment"
    return DONE


def _stage_of(question: str) -> str:
    if question == CSAT:
        return SENT
    if question in DIMENSIONS:
        return SERVQUAL
    if question == NPS:
        return NPS_STAGE
    if question == "comment":
        return COMMENT
    return DONE


class SurveyProblem(ValueError):
    """A web survey's answers that cannot be stored; the message names the field."""


@dataclass(frozen=True)
class WebAnswers:
    """Everything a web survey page asks, in one submission."""

    csat: int
    servqual: dict[str, int | None]
    nps: int | None = None
    comment: str | None = None

    def check(self) -> None:
        if self.csat not in _RANGES[CSAT]:
            raise SurveyProblem("csat: choose 1 to 5")
        for dimension, value in self.servqual.items():
            if dimension not in DIMENSIONS:
                raise SurveyProblem(f"{dimension}: not a question of this survey")
            if value is not None and value not in _RANGES[dimension]:
                raise SurveyProblem(f"{dimension}: choose 1 to 5")
        if self.nps is not None and self.nps not in _RANGES[NPS]:
            raise SurveyProblem("nps: choose 0 to 10")
        if self.comment is not None and len(self.comment) > MAX_COMMENT:
            raise SurveyProblem(f"comment: at most {MAX_COMMENT} characters")


@dataclass(frozen=True)
class WebSurvey:
    """What the web survey page shows before the customer answers."""

    survey_id: int
    language: str
    customer_name: str
    order_code: str | None
    answered: bool


class SurveyService:
    """Stores answers and moves each survey to its next question."""

    def __init__(
        self,
        db: Database,
        complaints: ComplaintService,
        clock: Callable[[], datetime],
        links: SurveyLinks | None = None,
    ) -> None:
        self.db = db
        self.complaints = complaints
        self.clock = clock
        self.links = links

    # --- the web survey (a signed link in an e-mail) ---------------------------------

    def _survey_of(self, token: str) -> int | None:
        return self.links.read(token) if self.links is not None else None

    async def web_survey(self, token: str) -> WebSurvey | None:
        """The survey a link names, for its page; None for a link that is not ours."""
        survey_id = self._survey_of(token)
        if survey_id is None:
            return None
        async with self.db.uow() as uow:
            row = (
                await uow.session.execute(
                    select(Survey, Customer.name, Customer.language, Order.code)
                    .join(Customer, Customer.id == Survey.customer_id)
                    .outerjoin(Order, Order.id == Survey.order_id)
                    .where(Survey.id == survey_id, Customer.erased_at.is_(None))
                )
            ).first()
            if row is None:
                return None
            survey, name, language, order_code = row
            return WebSurvey(survey.id, language, name, order_code, survey.status != SENT)

    async def answer_web(self, token: str, answers: WebAnswers) -> SurveyStep:
        """Store a web survey's answers at once: one answer per invitation (a second one
        changes nothing), the same columns and the same low-rating follow-up as Telegram."""
        answers.check()
        survey_id = self._survey_of(token)
        if survey_id is None:
            return SurveyStep(Result.NOT_FOUND, 0)
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            survey = await session.scalar(
                select(Survey)
                .join(Customer, Customer.id == Survey.customer_id)
                .where(Survey.id == survey_id, Customer.erased_at.is_(None))
                .with_for_update()
            )
            if survey is None:
                return SurveyStep(Result.NOT_FOUND, survey_id)
            if survey.status != SENT:
                return self._step(survey, Result.ALREADY_ANSWERED)
            survey.csat = answers.csat
            for dimension in DIMENSIONS:
                setattr(survey, dimension, answers.servqual.get(dimension))
            survey.nps = answers.nps
            survey.comment = (clean(answers.comment) or None) if answers.comment else None
            survey.answered_at = now
            survey.status = DONE
            note_id, opened = None, False
            if answers.csat <= LOW_CSAT:
                note_id, opened = await self._low_rating(session, survey, answers.csat, now)
            step = self._step(survey, Result.OK, note_id=note_id, opened=opened)
            step = await self._with_order(session, survey, step)
            await uow.commit()
            return step

    # --- the Telegram survey (buttons) ----------------------------------------------

    async def answer(
        self, survey_id: int, telegram_user_id: int, question: str, value: int | None = None
    ) -> SurveyStep:
        """Record one button: a score for ``question``, or a skip (``skip_servqual``,
        ``skip_nps``). Pressing a button twice, or on someone else's survey, changes nothing.
        """
        now = self.clock()
        async with self.db.uow() as uow:
            session = uow.session
            survey = await self._own(session, survey_id, telegram_user_id)
            if survey is None:
                return SurveyStep(Result.NOT_FOUND, survey_id)
            turn = self._turn(survey, next_question(survey), question)
            if turn is not None:
                return self._step(survey, turn)
            if question in _RANGES and value not in _RANGES[question]:
                return self._step(survey, Result.OUT_OF_TURN)
            note_id, opened = None, False
            if question == CSAT:
                assert value is not None
                survey.csat = value
                survey.answered_at = now
                survey.status = SERVQUAL
                if value <= LOW_CSAT:
                    note_id, opened = await self._low_rating(session, survey, value, now)
                await self._tell_integrators(session, survey, now)
            elif question in DIMENSIONS:
                setattr(survey, question, value)
                if all(getattr(survey, d) is not None for d in DIMENSIONS):
                    survey.status = NPS_STAGE
            elif question == SKIP_SERVQUAL:
                survey.status = NPS_STAGE
            elif question == NPS:
                survey.nps = value
                survey.status = COMMENT
            elif question == SKIP_NPS:
                survey.status = COMMENT
            else:
                return self._step(survey, Result.OUT_OF_TURN)
            step = self._step(survey, Result.OK, note_id=note_id, opened=opened)
            step = await self._with_order(session, survey, step)
            await uow.commit()
            return step

    async def _tell_integrators(self, session: AsyncSession, survey: Survey, now: datetime) -> None:
        """survey.answered, when the customer gives the score (the rest may never come)."""
        outbox = self.complaints.outbox
        if outbox is None:
            return
        customer_code = await session.scalar(
            select(Customer.code).where(Customer.id == survey.customer_id)
        )
        await outbox.to_webhooks(
            session,
            "survey.answered",
            ref=str(survey.id),
            data={
                "survey": survey.id,
                "customer_code": customer_code,
                "trigger": survey.trigger,
                "csat": survey.csat,
                "answered_at": now,
            },
            now=now,
        )

    async def comment(self, survey_id: int, telegram_user_id: int, text: str | None) -> SurveyStep:
        """The free comment that ends a survey; ``None`` skips it.

        The comment of an unhappy customer whose ticket staff took up again is part of
        that conversation: it is stored on the ticket too (``step.relay``).
        """
        async with self.db.uow() as uow:
            session = uow.session
            survey = await self._own(session, survey_id, telegram_user_id)
            if survey is None:
                return SurveyStep(Result.NOT_FOUND, survey_id)
            if survey.status != COMMENT:
                done = _STAGES.index(survey.status) > _STAGES.index(COMMENT)
                return self._step(survey, Result.ALREADY_ANSWERED if done else Result.OUT_OF_TURN)
            survey.comment = (clean(text)[:MAX_COMMENT] or None) if text else None
            survey.status = DONE
            step = self._step(survey, Result.OK)
            await uow.commit()
        if text and step.low and step.complaint_id is not None:
            relay = await self.complaints.customer_message(telegram_user_id, text)
            step = replace(step, relay=relay)
        return step

    async def question(self, survey_id: int, telegram_user_id: int) -> SurveyStep:
        """Where a customer's survey stands (to ask its question again)."""
        async with self.db.uow() as uow:
            survey = await self._own(uow.session, survey_id, telegram_user_id)
            if survey is None:
                return SurveyStep(Result.NOT_FOUND, survey_id)
            return self._step(survey, Result.OK)

    # --- helpers ----------------------------------------------------------------------

    async def _own(
        self, session: AsyncSession, survey_id: int, telegram_user_id: int
    ) -> Survey | None:
        return await session.scalar(
            select(Survey)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(Survey.id == survey_id, Customer.telegram_user_id == telegram_user_id)
        )

    @staticmethod
    def _turn(survey: Survey, asked: str, question: str) -> Result | None:
        """None if ``question`` answers what is asked now; else why the press changes nothing."""
        current = _stage_of(asked)
        if question in DIMENSIONS and current == SERVQUAL:
            if question == asked:
                return None
            answered = getattr(survey, question) is not None
            return Result.ALREADY_ANSWERED if answered else Result.OUT_OF_TURN
        target = {SKIP_SERVQUAL: SERVQUAL, SKIP_NPS: NPS_STAGE}.get(question)
        target = target or _stage_of(question)
        if target == current:
            return None
        if _STAGES.index(current) > _STAGES.index(target):
            return Result.ALREADY_ANSWERED
        return Result.OUT_OF_TURN

    @staticmethod
    def _step(
        survey: Survey, result: Result, *, note_id: int | None = None, opened: bool = False
    ) -> SurveyStep:
        return SurveyStep(
            result=result,
            survey_id=survey.id,
            next=next_question(survey),
            csat=survey.csat,
            trigger=survey.trigger,
            complaint_id=survey.complaint_id,
            reopened_note_id=note_id,
            opened=opened,
        )

    async def _with_order(
        self, session: AsyncSession, survey: Survey, step: SurveyStep
    ) -> SurveyStep:
        if survey.order_id is None:
            return step
        code = await session.scalar(select(Order.code).where(Order.id == survey.order_id))
        return replace(step, order_code=code)

    async def _low_rating(
        self, session: AsyncSession, survey: Survey, score: int, now: datetime
    ) -> tuple[int | None, bool]:
        """Bring staff back: reopen the survey's ticket, or open one for a delivery.

        Returns the id of the note added to a reopened ticket, and whether one was opened.
        """
        note = f"CSAT {score}/5"
        if survey.complaint_id is not None:
            return await self.complaints.reopen_in(session, survey.complaint_id, now, note), False
        await self.complaints.open_from_survey(session, survey, note, now)
        return None, True
