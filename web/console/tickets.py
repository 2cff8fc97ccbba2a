"""/console/tickets: the open tickets by deadline, filters (mine, unclaimed, breached), and a
ticket's page with its conversation, live while it is open (htmx polls the conversation).

Claim, reply, resolve and reopen go through the bot's ticket desk (bot/ticket_desk.py): the
same care service as the staff chat, the same relay to the customer, and the staff chat
sees the work under the ticket's card.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.customers import ConsoleUser
from care.tickets import ComplaintError, StaffAction, parse_ticket_code
from web.console.base import first_submit, is_htmx, not_found, render, staff_page
from web.console.forms import Form
from web.state import application_of, services_of

FILTERS = ("all", "mine", "unclaimed", "breached")
POLL_SECONDS = 5
MAX_TEXT = 4000


def _deadline_state(row: Any, now: Any) -> str:
    if row.late:
        return "late"
    due = row.first_response_due if row.first_response_at is None else row.resolution_due
    if due is not None and (due - now).total_seconds() < 3600:
        return "soon"
    return "ok"


@staff_page()
async def ticket_list(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    chosen = request.query_params.get("show", "all")
    chosen = chosen if chosen in FILTERS else "all"
    now = services.clock()
    rows = await services.complaints.open_tickets()
    if chosen == "mine":
        rows = [r for r in rows if r.assignee == user.name]
    elif chosen == "unclaimed":
        rows = [r for r in rows if r.assignee is None]
    elif chosen == "breached":
        rows = [r for r in rows if r.late]
    shown = [{"r": r, "state": _deadline_state(r, now)} for r in rows]
    name = "tickets_rows" if is_htmx(request) else "tickets"
    return render(
        request, name, user=user, rows=shown, show=chosen, filters=FILTERS, poll=POLL_SECONDS * 3
    )


async def _ticket_page(
    request: Request, user: ConsoleUser, *, form: Form | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    ticket = await services.complaints.ticket_by_code(request.path_params["code"], history=True)
    if ticket is None:
        return not_found(request, user)
    name = "ticket_conversation" if is_htmx(request) else "ticket"
    return render(
        request,
        name,
        user=user,
        tk=ticket,
        form=form or Form(),
        once=secrets.token_urlsafe(12),
        poll=POLL_SECONDS,
        done=request.query_params.get("done"),
        status=status,
    )


@staff_page()
async def ticket_page(request: Request, user: ConsoleUser) -> Response:
    return await _ticket_page(request, user)


@staff_page()
async def ticket_action(request: Request, user: ConsoleUser) -> Response:
    """POST …/claim, …/reply, …/resolve, …/reopen."""
    services = services_of(request)
    code = request.path_params["code"]
    action_name = request.path_params["action"]
    ticket_id = parse_ticket_code(code)
    ticket = await services.complaints.ticket(ticket_id) if ticket_id is not None else None
    if ticket is None or action_name not in ("claim", "reply", "resolve", "reopen"):
        return not_found(request, user)
    form = Form.of(await request.form())
    text: str | None = None
    if action_name != "claim":
        text = form.text("text", required=True, max_length=MAX_TEXT)
        if not form.ok:
            return await _ticket_page(request, user, form=form, status=400)
    if not first_submit(request, user):
        return RedirectResponse(f"/console/tickets/{ticket.code}?done=already", status_code=303)
    desk = application_of(request).bot_data["ticket_desk"]
    try:
        if action_name == "claim":
            action: StaffAction = await desk.claim(ticket.id, user.telegram_user_id, user.name)
        else:
            method = getattr(desk, action_name)
            action = await method(ticket.id, user.telegram_user_id, user.name, text)
    except ComplaintError:
        form.problem("text", "console.form.required")
        return await _ticket_page(request, user, form=form, status=400)
    if not action.ok:
        return RedirectResponse(
            f"/console/tickets/{ticket.code}?done={action.result.value}", status_code=303
        )
    await services.console.record(
        user, f"ticket.{action_name}", f"ticket:{ticket.code}", {"text": text} if text else None
    )
    return RedirectResponse(f"/console/tickets/{ticket.code}?done={action_name}", status_code=303)
