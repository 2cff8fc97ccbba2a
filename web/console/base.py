"""What every console page shares: who is signed in, their role, CSRF, the page itself.

The session cookie holds the session's token signed with CAREBOT_SECRET_KEY (itsdangerous,
through ``services.keys``); it is HttpOnly, SameSite=Strict, limited to /console, and
Secure when PUBLIC_BASE_URL is https. The session behind it is looked up on every request
(``services.console.user``), so logout, 12 h idle and a removed staff member end it at once.

``staff_page(role)`` wraps each endpoint: no session sends a page request to the login page
(an htmx or form request gets 401); an agent asking for a manager's page gets 403; every
request that is not GET or HEAD must carry the session's CSRF token (form field ``csrf`` or
header ``X-CSRF-Token``, which htmx sends from the page's ``hx-headers``), or gets 403 and
changes nothing. An exception becomes the error page: no traceback reaches a browser.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from care.customers import ConsoleUser
from care.services import Services
from web.pages import PRIVATE
from web.state import services_of

log = logging.getLogger("carebot.web")

COOKIE = "carebot_console"
LANG_COOKIE = "carebot_console_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD")
AGENT = "agent"
MANAGER = "manager"

# No inline script, no script from elsewhere, no javascript: link, no framing by others:
# text staff or customers typed cannot become code in a colleague's browser.
CSP = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
}

Endpoint = Callable[[Request, ConsoleUser], Awaitable[Response]]


def language_of(request: Request) -> str:
    services = services_of(request)
    return services.renderer.language(request.cookies.get(LANG_COOKIE))


def render(
    request: Request,
    name: str,
    *,
    user: ConsoleUser | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page (or an htmx fragment) in the reader's language."""
    services = services_of(request)
    html = services.renderer.console(
        language_of(request),
        name,
        shop_name=services.settings.shop_name,
        user=user,
        csrf=user.csrf_token if user else "",
        path=request.url.path,
        query=request.url.query,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={**PRIVATE, **CSP})


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- the session cookie ----------------------------------------------------------------------


def _signer(services: Services) -> Any:
    return services.keys.signer("console.session")


def set_session_cookie(response: Response, services: Services, token: str) -> None:
    secure = services.settings.public_base_url.lower().startswith("https://")
    response.set_cookie(
        COOKIE,
        _signer(services).sign(token.encode()).decode(),
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/console",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


def session_token(request: Request) -> str | None:
    """The session token from a cookie this server signed, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 400:
        return None
    try:
        token: bytes = _signer(services_of(request)).unsign(raw.encode("latin-1"))
    except (BadSignature, UnicodeEncodeError):
        return None
    return token.decode()


async def current_user(request: Request) -> ConsoleUser | None:
    token = session_token(request)
    if token is None:
        return None
    return await services_of(request).console.user(token)


async def csrf_ok(request: Request, user: ConsoleUser) -> bool:
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # kept by Starlette: the endpoint reads it again
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    return bool(given) and hmac.compare_digest(
        given.encode("utf-8", "replace"),
        user.csrf_token.encode(),  # type: ignore[union-attr]
    )


# --- the wrapper of every signed-in page ------------------------------------------------------


def staff_page(role: str = AGENT) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Sign-in, role and CSRF checks around an endpoint ``(request, user) -> Response``."""

    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def checked(request: Request) -> Response:
            try:
                user = await current_user(request)
                if user is None:
                    return _sign_in_first(request)
                if role == MANAGER and not user.is_manager:
                    return render(request, "error", user=user, status=403, error="forbidden")
                if request.method not in SAFE_METHODS and not await csrf_ok(request, user):
                    log.warning(
                        "console: %s %s refused: no valid CSRF token",
                        request.method,
                        request.url.path,
                    )
                    return render(request, "error", user=user, status=403, error="csrf")
                return await endpoint(request, user)
            except Exception:
                log.exception("console: %s %s failed", request.method, request.url.path)
                return render(request, "error", status=500, error="server")

        checked.__name__ = endpoint.__name__
        checked.__doc__ = endpoint.__doc__
        return checked

    return wrap


def _sign_in_first(request: Request) -> Response:
    if request.method not in SAFE_METHODS or is_htmx(request):
        response = render(request, "error", status=401, error="signed_out")
        if is_htmx(request):
            response.headers["HX-Redirect"] = "/console/login"
        return response
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


def not_found(request: Request, user: ConsoleUser | None) -> HTMLResponse:
    """The one 404 of the console: missing and not-to-be-seen look the same."""
    return render(request, "error", user=user, status=404, error="not_found")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path of this site."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def back(request: Request, default: str) -> str:
    return safe_next(request.query_params.get("next") or default)


# --- double submits ---------------------------------------------------------------------------

SUBMITTED_KEPT = 10_000


def first_submit(request: Request, user: ConsoleUser) -> bool:
    """Whether this form's ``once`` token is seen for the first time: a form posted twice
    (a double click, a reload) changes nothing the second time. Forms without the token
    are checked by their service (claiming twice, resolving twice are refused there)."""
    token = request.query_params.get("once") or ""
    if not token:
        return True
    seen: dict[tuple[int, str], None] = request.app.state.__dict__.setdefault(
        "_console_submitted", {}
    )
    key = (user.staff_id, token[:64])
    if key in seen:
        return False
    seen[key] = None
    while len(seen) > SUBMITTED_KEPT:
        del seen[next(iter(seen))]
    return True
