"""The web survey behind the link in a survey invitation e-mail.

A customer without Telegram is invited after delivery by an e-mail carrying
``PUBLIC_BASE_URL/survey/<token>`` (care.outreach.SurveyLinks). GET shows the whole survey
on one page: CSAT 1–5, the five SERVQUAL questions and NPS (optional), a comment. POST
checks every field on the server; a problem is shown beside its field with what was typed
kept, and nothing is stored. A valid answer is stored at once (``answer_web``), like a
Telegram survey's, and counted in the same statistics. The token is signed and names one
survey, so the form needs no CSRF token; a second answer to the same invitation changes
nothing and gets a polite page. A token that is not ours gets a 404 and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from care.services import Services
from care.tickets import DIMENSIONS, MAX_COMMENT, SurveyProblem, WebAnswers, WebSurvey
from web.pages import page
from web.state import services_of

log = logging.getLogger("carebot.web")

SCALES = {"csat": range(1, 6), "nps": range(0, 11), **{d: range(1, 6) for d in DIMENSIONS}}
FIELDS = ("csat", *DIMENSIONS, "nps", "comment")


def routes() -> list[BaseRoute]:
    return [
        Route("/survey/{token}", show, methods=["GET"]),
        Route("/survey/{token}", answer, methods=["POST"]),
    ]


async def show(request: Request) -> HTMLResponse:
    """The survey form; a GET never stores anything."""
    services = services_of(request)
    survey = await services.surveys.web_survey(request.path_params["token"])
    if survey is None:
        return _not_found(services)
    if survey.answered:
        return _survey_page(services, survey, "answered")
    return _survey_page(services, survey, "form", values={}, errors={})


async def answer(request: Request) -> HTMLResponse:
    """Check the answers, store them once, thank the customer."""
    services = services_of(request)
    token = request.path_params["token"]
    survey = await services.surveys.web_survey(token)
    if survey is None:
        return _not_found(services)
    if survey.answered:
        return _survey_page(services, survey, "answered", status=409)
    form = await request.form()
    values = {field: _text(form, field) for field in FIELDS}
    answers, errors = _answers(values)
    if answers is not None:
        try:
            step = await services.surveys.answer_web(token, answers)
        except SurveyProblem as problem:  # the service's own check, should ours miss one
            field = str(problem).partition(":")[0]
            errors = {field if field in FIELDS else "csat": "invalid"}
        else:
            if step.result == "already_answered":  # answered meanwhile, in another tab
                return _survey_page(services, survey, "answered", status=409)
            if step.result != "ok":
                return _not_found(services)
            log.info("survey %s answered on the web page (CSAT %s)", survey.survey_id, step.csat)
            return _survey_page(services, survey, "thanks", low=step.low)
    return _survey_page(services, survey, "form", values=values, errors=errors, status=422)


def _text(form: FormData, field: str) -> str:
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""


def _answers(values: dict[str, str]) -> tuple[WebAnswers | None, dict[str, str]]:
    """The answers of a submitted form, or the problem of each field that has one
    (``required``, ``range``, ``too_long``)."""
    errors: dict[str, str] = {}
    scores: dict[str, int | None] = {}
    for field, scale in SCALES.items():
        typed = values[field]
        if not typed:
            scores[field] = None
            if field == "csat":
                errors[field] = "required"
            continue
        score = int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 2 else None
        if score is None or score not in scale:
            errors[field] = "range"
        scores[field] = score
    comment = values["comment"]
    if len(comment) > MAX_COMMENT:
        errors["comment"] = "too_long"
    if errors:
        return None, errors
    csat = scores["csat"]
    assert csat is not None
    answers = WebAnswers(
        csat=csat,
        servqual={d: scores[d] for d in DIMENSIONS},
        nps=scores["nps"],
        comment=comment or None,
    )
    return answers, {}


def _survey_page(
    services: Services, survey: WebSurvey, state: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return page(
        services,
        survey.language,
        "survey",
        state=state,
        status=status,
        customer_name=survey.customer_name,
        order_code=survey.order_code,
        dimensions=DIMENSIONS,
        max_comment=MAX_COMMENT,
        **context,
    )


def _not_found(services: Services) -> HTMLResponse:
    # Nobody identified, so the Vietnamese page, which says it in English below too.
    return page(services, "vi", "survey", state="not_found", status=404)
