"""/console/customers: find a customer (name with or without diacritics, phone in any format,
code, e-mail; filters), their card, and what staff change on it: profile, consent, a policy
granted, erasure (managers, confirmed by typing the code)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.core.models import Channel, CustomerKind, Direction
from care.customers import ConsoleUser, InvalidInput, PolicyProblem
from care.tickets import CATEGORIES, SEVERITIES, StaffAction
from web.console.base import MANAGER, is_htmx, not_found, render, staff_page
from web.console.forms import Form
from web.state import services_of

PAGE = 50
PROFILE_FIELDS = ("name", "contact_person", "phone", "email", "address", "region", "occupation")
CONSENTS = ("telegram", "email", "none")


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


@staff_page()
async def customer_list(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    params = request.query_params
    form = Form(
        {k: params.get(k, "") for k in ("q", "tier", "segment", "region", "kind", "consent")}
    )
    tiers = list(services.settings.tier_names)
    page = _page_number(request)
    filters: dict[str, Any] = {
        "tier": form.get("tier") if form.get("tier") in tiers else None,
        "segment": form.get("segment")[:30] or None,
        "region": form.get("region")[:100] or None,
        "kind": form.get("kind") if form.get("kind") in set(CustomerKind) else None,
        "consent": form.get("consent") if form.get("consent") in CONSENTS else None,
    }
    q = form.get("q")[:200]
    rows, total = await services.customer_cards.search(
        q, limit=PAGE, offset=(page - 1) * PAGE, **filters
    )
    context = {
        "user": user,
        "form": form,
        "rows": rows,
        "total": total,
        "page": page,
        "more": total > page * PAGE,
        "searched": bool(q) or any(filters.values()),
        "qs": urlencode({k: v for k, v in form.values.items() if v}),
    }
    if is_htmx(request):
        return render(request, "customers_results", **context)
    return render(
        request,
        "customers",
        tiers=tiers,
        regions=await services.customer_cards.regions(),
        kinds=[k.value for k in CustomerKind],
        consents=CONSENTS,
        **context,
    )


async def _card_page(
    request: Request,
    user: ConsoleUser,
    code: str,
    *,
    profile_form: Form | None = None,
    policy_form: Form | None = None,
    erase_form: Form | None = None,
    ticket_form: Form | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    view = await services.customers.by_code(code)
    if view is None or view.erased_at is not None:
        return not_found(request, user)
    card = await services.customer_cards.card(view.id, None)
    if card is None:
        return not_found(request, user)
    p = card.profile
    events = await services.interactions.timeline(view.id)
    return render(
        request,
        "customer",
        user=user,
        c=card,
        p=p,
        m=card.metrics,
        events=events,
        profile_form=profile_form or Form({f: (getattr(p, f) or "") for f in PROFILE_FIELDS}),
        policy_form=policy_form or Form(),
        erase_form=erase_form or Form(),
        ticket_form=ticket_form or Form({"severity": "medium", "category": "other"}),
        categories=CATEGORIES,
        severities=SEVERITIES,
        done=request.query_params.get("done"),
        status=status,
    )


@staff_page()
async def customer_card(request: Request, user: ConsoleUser) -> Response:
    return await _card_page(request, user, request.path_params["code"])


@staff_page()
async def edit_profile(request: Request, user: ConsoleUser) -> Response:
    code = request.path_params["code"]
    form = Form.of(await request.form())
    values = {f: form.get(f) for f in PROFILE_FIELDS if f in form.values}
    for field, value in values.items():
        if len(value) > 500:
            form.problem(field, "console.form.too_long")
    services = services_of(request)
    if form.ok:
        try:
            view = await services.customers.edit_profile(code, values)
        except InvalidInput as exc:
            form.problem(exc.reason, f"console.customer.invalid.{exc.reason}")
        else:
            if view is None:
                return not_found(request, user)
            await services.console.record(
                user, "customer.edit", f"customer:{view.code}", {"fields": sorted(values)}
            )
            return RedirectResponse(f"/console/customers/{view.code}?done=profile", status_code=303)
    return await _card_page(request, user, code, profile_form=form, status=400)


@staff_page()
async def set_consent(request: Request, user: ConsoleUser) -> Response:
    code = request.path_params["code"]
    form = Form.of(await request.form())
    channel = form.choice("channel", ("telegram", "email"))
    value = form.choice("value", ("on", "off"))
    services = services_of(request)
    if channel is None or value is None:
        return await _card_page(request, user, code, status=400)
    try:
        view = await services.customers.set_consent(code, channel, value == "on")
    except InvalidInput:
        return RedirectResponse(f"/console/customers/{code}?done=no_email", status_code=303)
    if view is None:
        return not_found(request, user)
    await services.interactions.record(
        direction=Direction.INBOUND,
        telegram_user_id=None,
        chat_id=None,
        kind=f"consent_{channel}_{value}",
        text=None,
        channel=Channel.STORE,
        customer_id=view.id,
    )
    await services.console.record(
        user, "customer.consent", f"customer:{view.code}", {"channel": channel, "value": value}
    )
    return RedirectResponse(f"/console/customers/{view.code}?done=consent", status_code=303)


@staff_page()
async def grant_policy(request: Request, user: ConsoleUser) -> Response:
    code = request.path_params["code"]
    form = Form.of(await request.form())
    policy = form.text("policy", required=True, max_length=100)
    amount = form.integer("value", minimum=0, required=False) or 0
    note = form.text("note", max_length=500)
    if not form.ok or policy is None:
        return await _card_page(request, user, code, policy_form=form, status=400)
    services = services_of(request)
    view = await services.customers.by_code(code)
    if view is None or view.erased_at is not None:
        return not_found(request, user)
    try:
        await services.policies.grant(
            view.id, policy, value=amount, note=note, granted_by_id=user.staff_id
        )
    except PolicyProblem as exc:
        form.problem("policy", str(exc))
        return await _card_page(request, user, code, policy_form=form, status=400)
    await services.console.record(
        user, "customer.policy", f"customer:{view.code}", {"policy": policy, "value": amount}
    )
    return RedirectResponse(f"/console/customers/{view.code}?done=policy", status_code=303)


@staff_page(MANAGER)
async def erase(request: Request, user: ConsoleUser) -> Response:
    """Erase a customer's personal data; the manager confirms by typing the code."""
    code = request.path_params["code"]
    form = Form.of(await request.form())
    services = services_of(request)
    view = await services.customers.by_code(code)
    if view is None or view.erased_at is not None:
        return not_found(request, user)
    if form.get("confirm").strip().upper() != view.code.upper():
        form.problem("confirm", "console.customer.erase_confirm_wrong")
        return await _card_page(request, user, code, erase_form=form, status=400)
    erased = await services.customers.forget_by_code(view.code)
    if erased is not None:
        await services.console.record(user, "customer.erase", f"customer:{view.code}")
    return RedirectResponse("/console/customers?done=erased", status_code=303)


@staff_page()
async def open_ticket(request: Request, user: ConsoleUser) -> Response:
    """Open a ticket for the customer (a complaint by phone or at the counter)."""
    code = request.path_params["code"]
    form = Form.of(await request.form())
    category = form.choice("category", CATEGORIES)
    severity = form.choice("severity", SEVERITIES)
    description = form.text("description", required=True, max_length=4000)
    if not form.ok or category is None or severity is None or description is None:
        return await _card_page(request, user, code, ticket_form=form, status=400)
    services = services_of(request)
    opened = await services.complaints.open_for(
        code, user.telegram_user_id, category=category, severity=severity, description=description
    )
    if isinstance(opened, StaffAction):
        return not_found(request, user)
    await services.console.record(
        user, "ticket.open", f"ticket:{opened.code}", {"customer": opened.customer_code}
    )
    return RedirectResponse(f"/console/tickets/{opened.code}?done=opened", status_code=303)
