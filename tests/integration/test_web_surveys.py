"""Surveys by e-mail: a customer without Telegram gets a signed link to the web survey
(CSAT, the five SERVQUAL questions, NPS, a comment); one answer per invitation, stored
like a Telegram survey's and counted in the same statistics."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from care.core.models import Complaint, Survey
from care.outreach import SurveyLinks, UnsubscribeLinks
from care.tickets import SurveyProblem, WebAnswers
from tests.builders import make_customer, make_order, outbox_rows

FULL = WebAnswers(
    csat=4,
    servqual={
        "reliability": 5,
        "assurance": 4,
        "tangibles": 4,
        "empathy": 5,
        "responsiveness": 3,
    },
    nps=9,
    comment="Giao nhanh, đóng gói cẩn thận",
)


async def invited(services, clock, **fields):
    customer = await make_customer(services, telegram_user_id=None, **fields)
    order = await make_order(services, customer, delivered_at=clock() - timedelta(hours=73))
    report = await services.care.invite_surveys()
    assert report.queued == 1
    [row] = await outbox_rows(services, "survey:")
    async with services.db.uow() as uow:
        survey = await uow.session.scalar(select(Survey).where(Survey.order_id == order.id))
        uow.session.expunge_all()
    token = row.body_html.split("/survey/")[1].split('"')[0]
    return customer, order, row, survey, token


async def test_a_customer_without_telegram_is_invited_by_e_mail_with_a_signed_link(services, clock):
    customer, order, row, survey, token = await invited(services, clock)
    assert row.channel == "email" and row.recipient == customer.email
    assert row.template == "care_survey_email" and order.code in row.subject
    assert f"http://localhost:8080/survey/{token}" in row.body
    assert services.surveys.links.read(token) == survey.id
    page = await services.surveys.web_survey(token)
    assert (page.survey_id, page.order_code, page.answered) == (survey.id, order.code, False)
    assert (await services.care.invite_surveys()).queued == 0  # once per delivery


async def test_a_link_that_is_not_ours_names_no_survey(services, clock):
    _, _, _, survey, token = await invited(services, clock)
    links = services.surveys.links
    forged = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    assert links.read(forged) is None
    other = token.replace(f"{survey.id}.", f"{survey.id + 1}.", 1)
    assert links.read(other) is None
    unsubscribe = UnsubscribeLinks(services.settings, services.keys).token(survey.id)
    assert links.read(unsubscribe) is None  # a link for another purpose
    assert isinstance(links, SurveyLinks) and links.read("x" * 200) is None
    assert await services.surveys.web_survey(forged) is None
    step = await services.surveys.answer_web(forged, FULL)
    assert step.result == "not_found"


async def test_one_answer_per_invitation_stored_like_a_telegram_survey(services, clock):
    _, _, _, survey, token = await invited(services, clock)
    step = await services.surveys.answer_web(token, FULL)
    assert step.ok and step.next == "done"
    again = await services.surveys.answer_web(token, WebAnswers(csat=1, servqual={}))
    assert again.result == "already_answered"
    async with services.db.uow() as uow:
        stored = await uow.session.get(Survey, survey.id)
        uow.session.expunge_all()
    assert (stored.csat, stored.reliability, stored.responsiveness, stored.nps) == (4, 5, 3, 9)
    assert stored.comment == "Giao nhanh, đóng gói cẩn thận" and stored.status == "done"
    assert stored.answered_at == clock()
    assert (await services.surveys.web_survey(token)).answered
    since = (clock() - timedelta(days=1)).date()
    stats = await services.complaint_stats.compute(since, clock().date())
    assert stats.surveys.csat_mean == 4 and stats.surveys.nps == 100.0


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        (WebAnswers(csat=6, servqual={}), "csat"),
        (WebAnswers(csat=3, servqual={"empathy": 0}), "empathy"),
        (WebAnswers(csat=3, servqual={"price": 3}), "price"),
        (WebAnswers(csat=3, servqual={}, nps=11), "nps"),
        (WebAnswers(csat=3, servqual={}, comment="x" * 2001), "comment"),
    ],
)
async def test_bad_answers_are_refused_and_nothing_is_stored(services, clock, answers, problem):
    _, _, _, survey, token = await invited(services, clock)
    with pytest.raises(SurveyProblem, match=problem):
        await services.surveys.answer_web(token, answers)
    async with services.db.uow() as uow:
        stored = await uow.session.get(Survey, survey.id)
        uow.session.expunge_all()
    assert stored.status == "sent" and stored.csat is None


async def test_a_low_web_rating_opens_a_ticket_for_staff(services, clock):
    _, order, _, _, token = await invited(services, clock)
    step = await services.surveys.answer_web(token, WebAnswers(csat=1, servqual={}))
    assert step.ok and step.opened
    async with services.db.uow() as uow:
        ticket = await uow.session.scalar(select(Complaint).where(Complaint.order_id == order.id))
        uow.session.expunge_all()
    assert ticket is not None
