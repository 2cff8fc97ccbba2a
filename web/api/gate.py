"""What every API request passes before its route runs, in this order.

1. The key (``Authorization: Bearer KEY``): missing, unknown or revoked is 401, before
   anything of the request is read.
2. The scope the route needs: 403.
3. The key's rate (``api_requests_per_minute``, a leaky bucket per key): 429 with
   ``Retry-After``.
4. The body's size (``api_max_body_bytes``): 413 as soon as it is known, never buffered whole.
5. ``Idempotency-Key`` (writes only): a retry within the day gets the first response again.
6. The body as JSON: 400.

The route then returns (status, document) or raises ``Problem``; anything else is logged
and answered as a 500 problem, never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from care.integration import MAX_KEY_LENGTH, ApiKeyView, request_fingerprint
from care.services import Services
from web.api.problems import Problem, problem_response
from web.state import services_of

log = logging.getLogger("carebot.api")

JSON = "application/json"


@dataclass
class Call:
    """One authorised request as a route sees it."""

    request: Request
    services: Services
    key: ApiKeyView
    body: Any  # the parsed JSON body (None for GET)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.request.path_params)


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Gate:
    """The rate limiters of one web app (per key), and the checks of every request."""

    def __init__(self) -> None:
        self._limiters: dict[int, AsyncLimiter] = {}

    def limiter(self, key_id: int, per_minute: int) -> AsyncLimiter:
        limiter = self._limiters.get(key_id)
        if limiter is None or limiter.max_rate != per_minute:
            limiter = self._limiters[key_id] = AsyncLimiter(per_minute, 60)
        return limiter

    def endpoint(self, scope: str, handler: Handler, *, writes: bool = False) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await self._serve(request, scope, handler, writes)
            except Problem as problem:
                return problem.response(request.url.path)
            except ClientDisconnect:
                return Response(status_code=400)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    async def _serve(
        self, request: Request, scope: str, handler: Handler, writes: bool
    ) -> Response:
        services = services_of(request)
        key = await _authenticate(request, services)
        if not key.allows(scope):
            raise Problem(403, "forbidden", f"this API key has no '{scope}' scope")
        await self._pace(key, services.settings.api_requests_per_minute)
        raw = b""
        if writes:
            raw = await _read_at_most(request, services.settings.api_max_body_bytes)
        idempotency_key = request.headers.get("idempotency-key") if writes else None
        fingerprint = ""
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
                raise Problem(
                    400,
                    "bad-request",
                    f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters",
                )
            fingerprint = request_fingerprint(request.method, request.url.path, raw)
            stored = await services.idempotency.find(key.id, idempotency_key, fingerprint)
            if stored is not None:
                if not stored.same_request:
                    raise Problem(
                        422,
                        "idempotency-key-reused",
                        "this Idempotency-Key was sent with another request in the last "
                        "24 hours; use a new key for a new request",
                    )
                return _replayed(stored.status_code, stored.body)
        call = Call(request, services, key, _parse(raw) if raw else None)
        status, document, media_type = await _run(handler, call)
        text = json.dumps(document, ensure_ascii=False)
        if idempotency_key is not None and status < 500:
            await services.idempotency.store(key.id, idempotency_key, fingerprint, status, text)
        return Response(text, status_code=status, media_type=media_type)

    async def _pace(self, key: ApiKeyView, per_minute: int) -> None:
        limiter = self.limiter(key.id, per_minute)
        if not limiter.has_capacity():
            wait = math.ceil(60 / per_minute)
            raise Problem(
                429,
                "rate-limited",
                f"this API key may make {per_minute} requests a minute; "
                f"try again in {wait} second(s)",
                headers={"Retry-After": str(wait)},
            )
        await limiter.acquire()


async def _authenticate(request: Request, services: Services) -> ApiKeyView:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    unauthorised = {"WWW-Authenticate": 'Bearer realm="carebot"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "unauthorized",
            "send the API key as 'Authorization: Bearer KEY' (carebot api-key create)",
            headers=unauthorised,
        )
    key = await services.api_keys.authenticate(token)
    if key is None:
        raise Problem(
            401,
            "unauthorized",
            "this API key is not valid (unknown or revoked)",
            headers={**unauthorised, "WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return key


async def _read_at_most(request: Request, limit: int) -> bytes:
    too_large = Problem(
        413, "payload-too-large", f"a request body has at most {limit:,} bytes; split the batch"
    )
    declared = request.headers.get("content-length", "")
    if declared and (len(declared) > len(str(limit)) or int(declared) > limit):
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "bad-request", "the body is not JSON (UTF-8)") from None


async def _run(handler: Handler, call: Call) -> tuple[int, Any, str]:
    try:
        status, document = await handler(call)
    except Problem as problem:
        if problem.status >= 500 or problem.headers:
            raise
        return problem.status, problem.document(call.request.url.path), "application/problem+json"
    except (IntegrityError, OperationalError):
        log.warning("API request %s lost a race with another", call.request.url.path)
        raise Problem(
            409, "conflict", "another request changed the same records; send it again"
        ) from None
    except Exception:
        log.exception("API request %s failed", call.request.url.path)
        raise Problem(
            500, "internal", "the request failed on our side; nothing was written"
        ) from None
    return status, document, JSON


def _replayed(status: int, body: str) -> Response:
    media_type = "application/problem+json" if status >= 400 else JSON
    response = Response(body, status_code=status, media_type=media_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


__all__ = ["Call", "Gate", "Problem", "problem_response"]
