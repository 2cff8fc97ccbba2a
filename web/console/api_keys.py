"""/console/api-keys (managers): the HTTP API's keys (name, scopes, made, last used,
revoked), a new key shown once on the page that made it and never again, a key revoked
after typing its name; the webhook subscriptions (their signing secret also shown once)
and the latest delivery attempts. Every change is in the audit log."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.customers import ConsoleUser
from care.integration import EVENTS, SCOPES, ApiKeyError, WebhookError
from web.console.base import MANAGER, not_found, render, staff_page
from web.console.forms import Form
from web.state import services_of

NAME = re.compile(r"^[\w.\-]{1,100}$")
DELIVERIES = 50


async def _page(
    request: Request,
    user: ConsoleUser,
    *,
    form: Form | None = None,
    hook_form: Form | None = None,
    revoke_form: Form | None = None,
    revoking: str | None = None,
    new_key: str | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    return render(
        request,
        "api_keys",
        user=user,
        keys=await services.api_keys.list(),
        hooks=await services.webhooks.subscriptions(),
        deliveries=await services.webhooks.deliveries(limit=DELIVERIES),
        scopes=SCOPES,
        events=EVENTS,
        form=form or Form({}),
        hook_form=hook_form or Form({}),
        revoke_form=revoke_form or Form({}),
        revoking=revoking,
        new_key=new_key,
        new_secret=new_secret,
        done=request.query_params.get("done"),
        status=status,
    )


def _chosen(raw: list[str], allowed: tuple[str, ...]) -> list[str] | None:
    """The boxes ticked, in the listed order; None if something else was posted."""
    if any(value not in allowed for value in raw):
        return None
    return [value for value in allowed if value in raw]


@staff_page(MANAGER)
async def key_list(request: Request, user: ConsoleUser) -> Response:
    return await _page(request, user)


@staff_page(MANAGER)
async def create_key(request: Request, user: ConsoleUser) -> Response:
    """Make a key: its page shows it this once (not a redirect: nothing keeps it to show)."""
    posted = await request.form()
    form = Form.of(posted)
    services = services_of(request)
    name = form.text("name", required=True, max_length=100)
    if name is not None and not NAME.fullmatch(name):
        form.problem("name", "console.api_keys.bad_name")
    scopes = _chosen([str(v) for v in posted.getlist("scopes")], SCOPES)
    if not scopes:
        form.problem("scopes", "console.api_keys.no_scope")
    if form.ok and any(key.name == name for key in await services.api_keys.list()):
        form.problem("name", "console.api_keys.taken")
    form.values["_chosen"] = ",".join(scopes or [])
    if not form.ok or name is None or not scopes:
        return await _page(request, user, form=form, status=400)
    try:
        made = await services.api_keys.create(name, scopes)
    except ApiKeyError:
        form.problem("name", "console.api_keys.bad_name")
        return await _page(request, user, form=form, status=400)
    await services.console.record(
        user, "api_key.create", f"api_key:{made.view.name}", {"scopes": list(made.view.scopes)}
    )
    return await _page(request, user, new_key=made.key)


@staff_page(MANAGER)
async def revoke_key(request: Request, user: ConsoleUser) -> Response:
    """Revoke a key once its name is typed again: a key in use stops working at once."""
    name = request.path_params["name"]
    services = services_of(request)
    if not any(key.name == name and key.active for key in await services.api_keys.list()):
        return not_found(request, user)
    form = Form.of(await request.form())
    if form.get("confirm").strip() != name:
        form.problem("confirm", "console.api_keys.confirm_wrong")
        return await _page(request, user, revoke_form=form, revoking=name, status=400)
    revoked = await services.api_keys.revoke(name)
    if revoked is not None:
        await services.console.record(user, "api_key.revoke", f"api_key:{name}")
    return RedirectResponse("/console/api-keys?done=revoked", status_code=303)


@staff_page(MANAGER)
async def subscribe(request: Request, user: ConsoleUser) -> Response:
    """Subscribe a URL to events: the signing secret is shown on this page only."""
    posted = await request.form()
    form = Form.of(posted)
    url = form.text("url", required=True, max_length=500)
    events = _chosen([str(v) for v in posted.getlist("events")], EVENTS)
    if not events:
        form.problem("events", "console.webhooks.no_event")
    form.values["_events"] = ",".join(events or [])
    if not form.ok or url is None or not events:
        return await _page(request, user, hook_form=form, status=400)
    services = services_of(request)
    try:
        made = await services.webhooks.subscribe(url, events)
    except WebhookError:
        form.problem("url", "console.webhooks.bad_url")
        return await _page(request, user, hook_form=form, status=400)
    await services.console.record(
        user,
        "webhook.subscribe",
        f"webhook:{made.view.id}",
        {"url": made.view.url, "events": list(made.view.events)},
    )
    return await _page(request, user, new_secret=made.secret)


@staff_page(MANAGER)
async def end_subscription(request: Request, user: ConsoleUser) -> Response:
    raw = request.path_params["id"]
    services = services_of(request)
    if not raw.isdigit() or len(raw) > 12:
        return not_found(request, user)
    if await services.webhooks.end(int(raw)):
        await services.console.record(user, "webhook.end", f"webhook:{raw}")
    return RedirectResponse("/console/api-keys?done=ended", status_code=303)
