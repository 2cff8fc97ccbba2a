"""The web survey page behind the link of a survey invitation e-mail: a customer without
Telegram opens it, answers on one page and is thanked; bad answers are shown beside their
field and store nothing; a second answer and a forged link change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from care.core.models import Complaint, Survey
from care.services import Services
from tests.builders import Clock, make_customer, make_order

FULL = {
    "csat": "4",
    "reliability": "5",
    "assurance": "4",
    "tangibles": "4",
    "empathy": "5",
    "responsiveness": "3",
    "nps": "9",
    "comment": "Giao nhanh, đóng gói cẩn thận",
}


@pytest.fixture
async def web(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The web app of `carebot run`, called in-process as a customer's browser calls it."""
    from bot.app import build_application
    from web.app import create_app

    app = create_app(services, build_application(services.settings, services))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        yield client


async def invited(services: Services, clock: Clock, **fields: object) -> tuple[int, str]:
    """A delivered customer without Telegram, invited by e-mail: the survey and its link path."""
    customer = await make_customer(services, telegram_user_id=None, **fields)
    order = await make_order(services, customer, delivered_at=clock() - timedelta(hours=73))
    assert (await services.care.invite_surveys()).queued == 1
    async with services.db.uow() as uow:
        survey_id = await uow.session.scalar(select(Survey.id).where(Survey.order_id == order.id))
    assert survey_id is not None
    return survey_id, f"/survey/{services.surveys.links.token(survey_id)}"


async def stored(services: Services, survey_id: int) -> Survey:
    async with services.db.uow() as uow:
        survey = await uow.session.get(Survey, survey_id)
        assert survey is not None
        uow.session.expunge_all()
    return survey


async def test_the_page_asks_every_question_in_vietnamese_with_a_label_on_each_input(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    _, path = await invited(services, clock, name="Nguyễn Thị Lan")
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.text
    assert '<html lang="vi">' in page and "Nguyễn Thị Lan ơi" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Bạn hài lòng với" in page and "Sự thấu hiểu" in page and "Gửi đánh giá" in page
    assert "<script" not in page
    for field, low, high in [("csat", 1, 5), ("empathy", 1, 5), ("nps", 0, 10)]:
        for n in range(low, high + 1):
            assert f'<label for="{field}-{n}"><input type="radio" id="{field}-{n}"' in page
    assert 'id="nps-11"' not in page
    assert '<label for="comment">' in page and 'maxlength="2000"' in page
    assert (await stored(services, int(path.split("/")[2].split(".")[0]))).status == "sent"


async def test_the_page_speaks_the_customer_s_language(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    _, path = await invited(services, clock, name="John Smith", language="en")
    page = (await web.get(path)).text
    assert '<html lang="en">' in page and "John Smith, how was your order" in page
    assert "Empathy" in page and "Send my answers</button>" in page
    assert "hài lòng" not in page
    page = (await web.post(path, data=FULL)).text
    assert "Thank you for your feedback!" in page


async def test_a_full_answer_is_stored_and_counted_like_a_telegram_survey(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    survey_id, path = await invited(services, clock)
    response = await web.post(path, data=FULL)
    assert response.status_code == 200
    assert "Cảm ơn bạn đã dành thời gian đánh giá!" in response.text
    survey = await stored(services, survey_id)
    assert (survey.csat, survey.reliability, survey.assurance, survey.tangibles) == (4, 5, 4, 4)
    assert (survey.empathy, survey.responsiveness, survey.nps) == (5, 3, 9)
    assert survey.comment == "Giao nhanh, đóng gói cẩn thận" and survey.status == "done"
    since = (clock() - timedelta(days=1)).date()
    stats = await services.complaint_stats.compute(since, clock().date())
    assert stats.surveys.csat_mean == 4 and stats.surveys.nps == 100.0


async def test_only_the_rating_is_required_and_a_low_one_brings_staff_in(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    survey_id, path = await invited(services, clock)
    blank = {field: "" for field in FULL}
    response = await web.post(path, data={**blank, "csat": "1"})
    assert response.status_code == 200 and "sẽ liên hệ lại với bạn sớm" in response.text
    survey = await stored(services, survey_id)
    assert (survey.csat, survey.reliability, survey.nps, survey.comment) == (1, None, None, None)
    async with services.db.uow() as uow:
        ticket = await uow.session.scalar(select(Complaint.id))
    assert ticket is not None


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("csat", "", "Bạn chọn giúp một mức điểm nhé."),
        ("csat", "6", "Bạn chọn một số từ 1 đến 5 nhé."),
        ("empathy", "0", "Bạn chọn một số từ 1 đến 5 nhé."),
        ("reliability", "abc", "Bạn chọn một số từ 1 đến 5 nhé."),
        ("nps", "11", "Bạn chọn một số từ 0 đến 10 nhé."),
        ("nps", "-1", "Bạn chọn một số từ 0 đến 10 nhé."),
        ("comment", "x" * 2001, "Góp ý dài tối đa 2000 ký tự"),
    ],
)
async def test_a_bad_field_is_refused_beside_it_with_what_was_typed_kept_and_nothing_stored(
    services: Services, clock: Clock, web: httpx.AsyncClient, field: str, typed: str, message: str
) -> None:
    survey_id, path = await invited(services, clock)
    response = await web.post(path, data={**FULL, field: typed})
    assert response.status_code == 422
    page = response.text
    assert f'<p class="error" id="{field}-error">{message}' in page
    assert page.count('class="error" id=') == 1  # only the bad field is marked
    assert 'id="assurance-4" name="assurance" value="4" checked' in page or field == "assurance"
    assert "Giao nhanh, đóng gói cẩn thận</textarea>" in page or field == "comment"
    survey = await stored(services, survey_id)
    assert survey.status == "sent" and survey.csat is None


async def test_a_second_answer_to_the_same_invitation_changes_nothing(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    survey_id, path = await invited(services, clock)
    assert (await web.post(path, data=FULL)).status_code == 200
    again = await web.post(path, data={**FULL, "csat": "1", "comment": "đổi ý"})
    assert again.status_code == 409
    assert "Bạn đã trả lời khảo sát này rồi" in again.text
    survey = await stored(services, survey_id)
    assert (survey.csat, survey.comment) == (4, "Giao nhanh, đóng gói cẩn thận")
    page = await web.get(path)
    assert page.status_code == 200 and "Bạn đã trả lời khảo sát này rồi" in page.text
    assert "<form" not in page.text


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("forge", ["signature", "survey", "garbage", "unsubscribe"])
async def test_a_forged_link_gets_a_404_in_both_languages_and_stores_nothing(
    services: Services, clock: Clock, web: httpx.AsyncClient, method: str, forge: str
) -> None:
    survey_id, path = await invited(services, clock)
    token = path.rpartition("/")[2]
    number, _, signature = token.partition(".")
    forged = {
        "signature": f"{number}.{signature[:5]}{'0' if signature[5] != '0' else '1'}"
        f"{signature[6:]}",
        "survey": f"{survey_id + 1}.{signature}",
        "garbage": "not-a-token",
        "unsubscribe": services.care.outbox.links.token(survey_id),  # another purpose's link
    }[forge]
    response = await web.request(method, f"/survey/{forged}", data=FULL)
    assert response.status_code == 404
    assert "Liên kết không hợp lệ" in response.text and "Invalid link" in response.text
    assert "Traceback" not in response.text
    assert (await stored(services, survey_id)).status == "sent"


async def test_the_shop_name_and_what_was_typed_are_escaped(
    services: Services, clock: Clock, web: httpx.AsyncClient
) -> None:
    services.settings.shop_name = "Sao <b>Mai</b> & Co"
    _, path = await invited(services, clock)
    page = (await web.post(path, data={**FULL, "nps": "<i>", "comment": "</textarea><b>"})).text
    assert "Sao &lt;b&gt;Mai&lt;/b&gt; &amp; Co" in page and "<b>Mai</b>" not in page
    assert "&lt;/textarea&gt;&lt;b&gt;</textarea>" in page
