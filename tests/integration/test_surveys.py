"""Surveys: one CSAT per survey, then SERVQUAL, NPS and a comment; low scores bring staff."""

import itertools

import pytest
from sqlalchemy import select

from care.core.models import Complaint, Survey
from care.tickets.complaints import Draft
from care.tickets.surveys import DIMENSIONS, Result
from tests.builders import make_customer, make_order

_ids = itertools.count(6001)


async def resolved_ticket(services):
    lan = await make_customer(services, telegram_user_id=next(_ids))
    ticket = await services.complaints.file(
        lan.telegram_user_id, Draft("delivery", "medium", "Giao trễ")
    )
    await services.staff.add(7001, "Minh")
    await services.complaints.claim(ticket.id, 7001)
    done = await services.complaints.resolve(ticket.id, 7001, "Đã giao lại")
    return lan, ticket, done.survey_id


async def delivery_survey(services):
    lan = await make_customer(services, telegram_user_id=next(_ids))
    order = await make_order(services, lan)
    async with services.db.uow() as uow:
        survey = Survey(customer_id=lan.id, trigger="delivery", order_id=order.id)
        uow.session.add(survey)
        await uow.commit()
    return lan, order, survey.id


async def stored(services, survey_id):
    async with services.db.uow() as uow:
        survey = await uow.session.get(Survey, survey_id)
        uow.session.expunge(survey)
        return survey


async def test_a_full_survey_stores_every_answer_and_ends(services, clock):
    lan, order, survey_id = await delivery_survey(services)
    me = lan.telegram_user_id
    step = await services.surveys.answer(survey_id, me, "csat", 5)
    assert step.ok and step.next == "reliability" and step.order_code == order.code
    for score, dimension in enumerate(DIMENSIONS, start=1):
        step = await services.surveys.answer(survey_id, me, dimension, score)
        assert step.ok
    assert step.next == "nps"
    step = await services.surveys.answer(survey_id, me, "nps", 9)
    assert step.next == "comment"
    step = await services.surveys.comment(survey_id, me, "  Giao nhanh, đóng gói đẹp  ")
    assert step.ok and step.next == "done"
    survey = await stored(services, survey_id)
    assert (
        survey.csat,
        survey.reliability,
        survey.assurance,
        survey.tangibles,
        survey.empathy,
        survey.responsiveness,
        survey.nps,
    ) == (5, 1, 2, 3, 4, 5, 9)
    assert survey.comment == "Giao nhanh, đóng gói đẹp"
    assert survey.answered_at == clock.now
    assert survey.status == "done"


async def test_skipping_servqual_goes_to_nps_and_skipping_nps_to_the_comment(services):
    lan, _, survey_id = await delivery_survey(services)
    me = lan.telegram_user_id
    await services.surveys.answer(survey_id, me, "csat", 4)
    await services.surveys.answer(survey_id, me, "reliability", 4)
    step = await services.surveys.answer(survey_id, me, "skip_servqual")
    assert step.next == "nps"
    step = await services.surveys.answer(survey_id, me, "skip_nps")
    assert step.next == "comment"
    step = await services.surveys.comment(survey_id, me, None)
    assert step.next == "done"
    survey = await stored(services, survey_id)
    assert (survey.reliability, survey.assurance, survey.nps, survey.comment) == (
        4,
        None,
        None,
        None,
    )


async def test_answering_twice_changes_nothing(services):
    lan, _, survey_id = await delivery_survey(services)
    me = lan.telegram_user_id
    await services.surveys.answer(survey_id, me, "csat", 4)
    again = await services.surveys.answer(survey_id, me, "csat", 1)
    assert again.result == Result.ALREADY_ANSWERED
    await services.surveys.answer(survey_id, me, "reliability", 3)
    twice = await services.surveys.answer(survey_id, me, "reliability", 5)
    assert twice.result == Result.ALREADY_ANSWERED
    survey = await stored(services, survey_id)
    assert (survey.csat, survey.reliability) == (4, 3)
    async with services.db.uow() as uow:
        assert await uow.session.scalar(select(Complaint.id)) is None  # no reopening


async def test_someone_elses_survey_looks_like_no_survey_and_is_untouched(services):
    _, _, survey_id = await delivery_survey(services)
    nam = await make_customer(services, telegram_user_id=next(_ids))
    step = await services.surveys.answer(survey_id, nam.telegram_user_id, "csat", 1)
    assert step.result == Result.NOT_FOUND
    missing = await services.surveys.answer(987654, nam.telegram_user_id, "csat", 1)
    assert missing.result == Result.NOT_FOUND
    assert (await stored(services, survey_id)).csat is None


@pytest.mark.parametrize(
    ("question", "value"),
    [("csat", 0), ("csat", 6), ("nps", 3), ("reliability", 3), ("comment", 1), ("bogus", 1)],
)
async def test_a_button_out_of_range_or_out_of_turn_changes_nothing(services, question, value):
    lan, _, survey_id = await delivery_survey(services)
    step = await services.surveys.answer(survey_id, lan.telegram_user_id, question, value)
    assert step.result == Result.OUT_OF_TURN
    survey = await stored(services, survey_id)
    assert (survey.csat, survey.status) == (None, "sent")


async def test_a_comment_before_its_turn_or_after_the_end_is_refused(services):
    lan, _, survey_id = await delivery_survey(services)
    me = lan.telegram_user_id
    assert (await services.surveys.comment(survey_id, me, "hi")).result == Result.OUT_OF_TURN
    await services.surveys.answer(survey_id, me, "csat", 5)
    await services.surveys.answer(survey_id, me, "skip_servqual")
    await services.surveys.answer(survey_id, me, "skip_nps")
    await services.surveys.comment(survey_id, me, "Tốt")
    late = await services.surveys.comment(survey_id, me, "Sửa lại")
    assert late.result == Result.ALREADY_ANSWERED
    assert (await stored(services, survey_id)).comment == "Tốt"


async def test_a_low_rating_of_a_resolved_ticket_reopens_it_with_its_owner(services, clock):
    lan, ticket, survey_id = await resolved_ticket(services)
    clock.advance(hours=1)
    step = await services.surveys.answer(survey_id, lan.telegram_user_id, "csat", 2)
    assert step.ok and step.low and step.reopened and step.complaint_id == ticket.id
    reopened = await services.complaints.ticket(ticket.id)
    assert reopened.status == "claimed" and reopened.assignee == "Minh"
    assert reopened.reopened_at == clock.now
    assert reopened.resolution_due == clock.now + (ticket.resolution_due - ticket.created_at)


@pytest.mark.parametrize(("score", "on_ticket"), [(1, True), (5, False)])
async def test_only_an_unhappy_customers_comment_goes_on_the_ticket(services, score, on_ticket):
    lan, ticket, survey_id = await resolved_ticket(services)
    me = lan.telegram_user_id
    for question, value in (("csat", score), ("skip_servqual", None), ("skip_nps", None)):
        await services.surveys.answer(survey_id, me, question, value)
    step = await services.surveys.comment(survey_id, me, "Hàng vẫn chưa tới")
    assert step.ok and (step.relay is not None) == on_ticket
    history = (await services.complaints.ticket(ticket.id, history=True)).history
    said = [(h.author, h.text) for h in history]
    assert (("customer", "Hàng vẫn chưa tới") in said) == on_ticket


async def test_a_good_rating_of_a_resolved_ticket_leaves_it_resolved(services):
    lan, ticket, survey_id = await resolved_ticket(services)
    step = await services.surveys.answer(survey_id, lan.telegram_user_id, "csat", 3)
    assert step.ok and not step.low and not step.reopened
    assert (await services.complaints.ticket(ticket.id)).status == "resolved"


async def test_a_low_delivery_rating_opens_a_ticket_about_the_order(services):
    lan, order, survey_id = await delivery_survey(services)
    step = await services.surveys.answer(survey_id, lan.telegram_user_id, "csat", 1)
    assert step.ok and step.opened and step.complaint_id is not None
    ticket = await services.complaints.ticket(step.complaint_id)
    assert ticket.status == "open"
    assert ticket.order_code == order.code
    assert ticket.customer_id == lan.id
    assert ticket.description == "CSAT 1/5"
    assert (await stored(services, survey_id)).complaint_id == ticket.id
