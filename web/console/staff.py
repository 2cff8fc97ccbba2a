"""/console/staff (managers): add and remove staff, change roles; /console/audit: the log
of every change made in the console."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.core.models import StaffRole
from care.customers import ConsoleUser, StaffError
from web.console.base import MANAGER, render, staff_page
from web.console.forms import Form
from web.state import services_of

PAGE = 50


async def _staff_page(
    request: Request, user: ConsoleUser, form: Form | None = None, *, status: int = 200
) -> Response:
    members = await services_of(request).staff.list()
    return render(
        request,
        "staff",
        user=user,
        members=members,
        form=form or Form({"role": StaffRole.AGENT.value}),
        roles=[r.value for r in StaffRole],
        done=request.query_params.get("done"),
        status=status,
    )


@staff_page(MANAGER)
async def staff_list(request: Request, user: ConsoleUser) -> Response:
    return await _staff_page(request, user)


@staff_page(MANAGER)
async def staff_add(request: Request, user: ConsoleUser) -> Response:
    """Add someone (or bring them back, or change their role): adding twice is one change."""
    form = Form.of(await request.form())
    telegram_id = form.integer("telegram_id", minimum=1)
    name = form.text("name", required=True, max_length=200)
    role = form.choice("role", [r.value for r in StaffRole])
    if not form.ok:
        return await _staff_page(request, user, form, status=400)
    services = services_of(request)
    assert telegram_id is not None and name is not None and role is not None
    before = await services.staff.get(telegram_id)
    try:
        member = await services.staff.add(telegram_id, name, role)
    except StaffError as exc:
        form.problem("name", str(exc))
        return await _staff_page(request, user, form, status=400)
    if before is not None and before.role != member.role:
        await services.console.end_sessions(member.id)  # a new role signs in anew
    if before != member:
        await services.console.record(
            user, "staff.add", f"staff:{telegram_id}", {"name": member.name, "role": member.role}
        )
    return RedirectResponse("/console/staff?done=added", status_code=303)


@staff_page(MANAGER)
async def staff_remove(request: Request, user: ConsoleUser) -> Response:
    """Withdraw someone's staff rights: their console sessions end at once."""
    services = services_of(request)
    try:
        telegram_id = int(request.path_params["telegram_id"])
    except ValueError:
        telegram_id = 0
    member = await services.staff.get(telegram_id)
    if member is not None and await services.staff.remove(telegram_id):
        await services.console.end_sessions(member.id)
        await services.console.record(
            user, "staff.remove", f"staff:{telegram_id}", {"name": member.name}
        )
    return RedirectResponse("/console/staff?done=removed", status_code=303)


@staff_page(MANAGER)
async def audit(request: Request, user: ConsoleUser) -> Response:
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    entries, total = await services_of(request).console.audit_log(
        limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "audit",
        user=user,
        entries=entries,
        page=page,
        more=total > page * PAGE,
        total=total,
    )
