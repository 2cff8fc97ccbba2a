"""Signing in and out of the console, and its language.

A login link (``/console/login?token=…``) opens a page with one button; only the button's
POST uses the token. Telegram and mail scanners fetch every link they see to preview it,
and a GET that signed in would spend the single-use link before its owner clicked it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.customers import ConsoleUser
from web.console.base import (
    LANG_COOKIE,
    clear_session_cookie,
    current_user,
    render,
    safe_next,
    session_token,
    set_session_cookie,
    staff_page,
)
from web.state import services_of


async def login_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    target = safe_next(request.query_params.get("next"))
    if not token:
        user = await current_user(request)
        if user is not None:
            return RedirectResponse(target, status_code=303)
        return render(request, "login", state="ask", next=target)
    if not await services_of(request).console.link_is_usable(token):
        return render(request, "login", state="refused", next=target, status=400)
    return render(request, "login", state="confirm", token=token, next=target)


async def login(request: Request) -> Response:
    form = await request.form()
    token = form.get("token")
    target = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
    services = services_of(request)
    signed = await services.console.sign_in(token) if isinstance(token, str) else None
    if signed is None:
        return render(request, "login", state="refused", next=target, status=400)
    await services.console.record(signed.user, "console.sign_in")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, services, signed.token)
    return response


@staff_page()
async def logout(request: Request, user: ConsoleUser) -> Response:
    token = session_token(request)
    if token is not None:
        await services_of(request).console.sign_out(token)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response)
    return response


async def language(request: Request) -> Response:
    """Switch the console's language (a preference kept in a cookie, nothing stored)."""
    services = services_of(request)
    chosen = services.renderer.language(request.path_params["lang"])
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", path="/console"
    )
    return response


async def missing(request: Request) -> Response:
    """Any other /console URL: the one 404 page."""
    user = await current_user(request)
    return render(request, "error", user=user, status=404, error="not_found")


async def to_console(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)
