"""The Telegram webhook: updates Telegram POSTs to the path of CAREBOT_WEBHOOK_URL.

Authenticated before anything is parsed: Telegram sends the secret token given to
setWebhook in ``X-Telegram-Bot-Api-Secret-Token``; a request without it, or with another,
gets 403 and its body is never read. Then the body is read up to 1 MB (Telegram's updates
are far smaller; more is refused with 413 as soon as it is seen, never buffered whole),
parsed into an Update (anything else: 400, no traceback), and put on the Application's
update queue, where long polling would have put it.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update

from web.state import application_of

log = logging.getLogger("carebot.web")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Webhook:
    """Where the updates arrive (the URL's path) and the secret token they carry."""

    path: str
    secret: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"Webhook(path={self.path!r})"


def routes(webhook: Webhook) -> list[BaseRoute]:
    async def receive(request: Request) -> Response:
        return await receive_update(request, webhook)

    return [Route(webhook.path, receive, methods=["POST"])]


async def receive_update(request: Request, webhook: Webhook) -> Response:
    """Check the secret, read the bounded body, queue the update."""
    given = request.headers.get(SECRET_HEADER)
    if not _same_secret(given, webhook.secret):
        log.warning(
            "webhook request refused: %s secret token (from %s)",
            "no" if given is None else "a wrong",
            request.client.host if request.client else "?",
        )
        return PlainTextResponse("Forbidden", status_code=403)
    try:
        body = await _read_at_most(request, MAX_BODY)
    except ClientDisconnect:  # the sender left half-way: nothing to queue, nobody to answer
        return Response(status_code=400)
    if body is None:
        log.warning("webhook request refused: body over %d bytes", MAX_BODY)
        return PlainTextResponse("Payload Too Large", status_code=413)
    application = application_of(request)
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("an update is a JSON object")
        update = Update.de_json(data, application.bot)
    except Exception as exc:  # any malformed body is the sender's fault, never ours
        log.warning("webhook request refused: not an update (%s)", type(exc).__name__)
        return PlainTextResponse("Bad Request", status_code=400)
    await application.update_queue.put(update)
    return Response(status_code=200)


def _same_secret(given: str | None, secret: str) -> bool:
    """Constant-time comparison; header values arrive as latin-1, so any bytes compare."""
    if given is None or not secret:
        return False
    return hmac.compare_digest(given.encode("latin-1"), secret.encode("ascii"))


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body if it has at most ``limit`` bytes, else None as soon as that is known."""
    declared = request.headers.get("content-length", "")
    if declared and (len(declared) > len(str(limit)) or int(declared) > limit):
        return None  # the server checked it is ASCII digits
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
