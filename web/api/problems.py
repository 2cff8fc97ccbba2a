"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal of the API has the same shape: ``type`` (a URN naming the kind of problem),
``title``, ``status``, ``detail`` and, for a request whose content is wrong, ``errors``:
one entry per problem with the ``field`` it is about and, in a batch, the ``index`` of
the item (from 0). The messages are those of a file import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response

from care.io import RowError

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:carebot:problem:"

TITLES = {
    "bad-request": "The request is not JSON",
    "unauthorized": "A valid API key is needed",
    "forbidden": "The API key lacks a scope",
    "not-found": "Not found",
    "payload-too-large": "The request body is too large",
    "validation": "The request has invalid fields",
    "idempotency-key-reused": "The Idempotency-Key was used for another request",
    "rate-limited": "Too many requests",
    "conflict": "A concurrent request changed the same records",
    "internal": "Something went wrong on our side",
}


class Problem(Exception):
    """Raised anywhere in a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def document(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.kind,
            "title": TITLES.get(self.kind, self.kind),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self, instance: str) -> Response:
        return problem_response(self.document(instance), self.status, self.headers)


def problem_response(
    document: Mapping[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def field_errors(errors: Iterable[RowError], *, batch: bool) -> list[dict[str, Any]]:
    """The import's row errors as the problem's ``errors``: field, detail, and the item's
    index in a batch."""
    shown: list[dict[str, Any]] = []
    for error in errors:
        entry: dict[str, Any] = {}
        if batch:
            entry["index"] = error.row
        entry["field"] = error.field
        entry["detail"] = error.reason
        shown.append(entry)
    return shown


def invalid(errors: Iterable[RowError], *, batch: bool) -> Problem:
    listed = field_errors(errors, batch=batch)
    items = len({entry.get("index") for entry in listed}) if batch else 1
    detail = (
        f"{len(listed)} problem(s) in {items} item(s); nothing was written"
        if batch
        else f"{len(listed)} problem(s); nothing was written"
    )
    return Problem(422, "validation", detail, errors=listed)
