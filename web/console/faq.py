"""/console/faq: FAQ entries with their alternates and hit counts; add, edit, delete; the
unanswered questions grouped, each group with "answer this", which makes an entry and
marks the group answered (the FaqService the bot answers from, its index rebuilt); the
wordings learned from customers or approved by staff (remove one) and those still pending
with how many customers confirmed them (approve one now)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.customers import ConsoleUser
from web.console.base import not_found, render, staff_page
from web.console.forms import Form
from web.state import services_of

LANGUAGES = ("vi", "en")
MAX_IDS = 500


def _ids(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",")[:MAX_IDS] if x.strip().isdigit()]


def _alternates(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()][:50]


def _entry_id(request: Request) -> int | None:
    raw = request.path_params["entry"]
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@staff_page()
async def faq_page(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    entries = await services.faq.entries()
    groups = await services.faq.unanswered()
    return render(
        request,
        "faq",
        user=user,
        entries=entries,
        groups=groups[:100],
        more_groups=max(len(groups) - 100, 0),
        learned=await services.faq.learned(),
        pending=await services.faq.pending(),
        done=request.query_params.get("done"),
    )


def _form_page(
    request: Request, user: ConsoleUser, form: Form, *, entry_id: int | None, status: int = 200
) -> Response:
    return render(
        request,
        "faq_entry",
        user=user,
        form=form,
        entry_id=entry_id,
        languages=LANGUAGES,
        status=status,
    )


@staff_page()
async def new_entry(request: Request, user: ConsoleUser) -> Response:
    params = request.query_params
    form = Form(
        {
            "question": params.get("question", "")[:500],
            "language": params.get("language", "vi")
            if params.get("language") in LANGUAGES
            else "vi",
            "ids": ",".join(str(i) for i in _ids(params.get("ids", ""))),
        }
    )
    return _form_page(request, user, form, entry_id=None)


def _checked(form: Form) -> tuple[str | None, str | None, str | None]:
    question = form.text("question", required=True, max_length=500)
    answer = form.get("answer").strip()
    if not answer:
        form.problem("answer", "console.form.required")
    elif len(answer) > 4000:
        form.problem("answer", "console.form.too_long")
    category = form.text("category", max_length=50)
    return question, answer or None, category


@staff_page()
async def create_entry(request: Request, user: ConsoleUser) -> Response:
    form = Form.of(await request.form())
    question, answer, category = _checked(form)
    language = form.choice("language", LANGUAGES)
    if not form.ok or question is None or answer is None or language is None:
        return _form_page(request, user, form, entry_id=None, status=400)
    services = services_of(request)
    try:
        added = await services.faq.add(
            question,
            answer,
            language,
            category,
            _alternates(form.get("alternates")),
            unanswered_ids=_ids(form.get("ids")),
        )
    except ValueError:
        form.problem("question", "console.faq.duplicate")
        return _form_page(request, user, form, entry_id=None, status=400)
    await services.console.record(
        user, "faq.add", f"faq:{added.entry.id}", {"question": question, "answered": added.answered}
    )
    return RedirectResponse("/console/faq?done=added", status_code=303)


@staff_page()
async def edit_page(request: Request, user: ConsoleUser) -> Response:
    entry_id = _entry_id(request)
    entry = await services_of(request).faq.entry(entry_id) if entry_id is not None else None
    if entry is None:
        return not_found(request, user)
    form = Form(
        {
            "question": entry.question,
            "answer": entry.answer,
            "category": entry.category or "",
            "language": entry.language,
            "alternates": "\n".join(entry.alternates),
        }
    )
    return _form_page(request, user, form, entry_id=entry.id)


@staff_page()
async def save_entry(request: Request, user: ConsoleUser) -> Response:
    entry_id = _entry_id(request)
    services = services_of(request)
    if entry_id is None or await services.faq.entry(entry_id) is None:
        return not_found(request, user)
    form = Form.of(await request.form())
    question, answer, category = _checked(form)
    if not form.ok or question is None or answer is None:
        return _form_page(request, user, form, entry_id=entry_id, status=400)
    try:
        saved = await services.faq.edit(
            entry_id, question, answer, category, _alternates(form.get("alternates"))
        )
    except ValueError:
        form.problem("question", "console.faq.duplicate")
        return _form_page(request, user, form, entry_id=entry_id, status=400)
    if saved is None:
        return not_found(request, user)
    await services.console.record(user, "faq.edit", f"faq:{entry_id}", {"question": question})
    return RedirectResponse("/console/faq?done=saved", status_code=303)


@staff_page()
async def delete_entry(request: Request, user: ConsoleUser) -> Response:
    entry_id = _entry_id(request)
    services = services_of(request)
    if entry_id is None:
        return not_found(request, user)
    if await services.faq.remove(entry_id):
        await services.console.record(user, "faq.delete", f"faq:{entry_id}")
    return RedirectResponse("/console/faq?done=deleted", status_code=303)


def _number(request: Request, name: str) -> int | None:
    raw = request.path_params[name]
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@staff_page()
async def approve_wording(request: Request, user: ConsoleUser) -> Response:
    """Make a pending wording an alternate of its entry now, whatever its count."""
    number = _number(request, "confirmation")
    services = services_of(request)
    learned = await services.faq.approve(number) if number is not None else None
    if learned is None:
        return not_found(request, user)
    await services.console.record(
        user,
        "faq.approve",
        f"faq:{learned.entry_id}",
        {"alternate": learned.alternate_id, "text": learned.text},
    )
    return RedirectResponse("/console/faq?done=approved#learned", status_code=303)


@staff_page()
async def forget_wording(request: Request, user: ConsoleUser) -> Response:
    """Remove a learned alternate; the confirmations behind it no longer count."""
    number = _number(request, "alternate")
    services = services_of(request)
    known = {p.alternate_id: p for p in await services.faq.learned()}
    phrasing = known.get(number) if number is not None else None
    if phrasing is None or not await services.faq.forget(phrasing.alternate_id):
        return not_found(request, user)
    await services.console.record(
        user,
        "faq.forget",
        f"faq:{phrasing.entry_id}",
        {"alternate": phrasing.alternate_id, "text": phrasing.text},
    )
    return RedirectResponse("/console/faq?done=forgotten#learned", status_code=303)
