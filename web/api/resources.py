"""The API's resources: customers, orders and products by the shop's own codes.

``PUT /X/{code}`` creates or updates one record (201 or 200, with the record as stored);
``POST /X`` takes ``{"items": [...]}``, up to ``api_batch_max`` items, all or none (an
error names each bad item's index); ``GET`` reads back. The fields are the import
columns of README "Import formats"; the checks and messages are the import's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from care.integration import IngestResult, WebhookError
from web.api.gate import Call
from web.api.problems import Problem, invalid


def _record(call: Call) -> dict[str, Any]:
    """The body of a PUT, with the code of its URL (a different code in the body is an error)."""
    body = call.body
    if not isinstance(body, dict):
        raise Problem(422, "validation", "the body is not a JSON object", errors=[])
    code = call.params["code"]
    given = body.get("code", code)
    if given != code:
        raise Problem(
            422,
            "validation",
            "the code in the body is not the code in the URL",
            errors=[{"field": "code", "detail": f"code '{given}' is not the URL's '{code}'"}],
        )
    return {**body, "code": code}


def _items(call: Call) -> list[Any]:
    body = call.body
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise Problem(
            422,
            "validation",
            'the body is not {"items": [...]}',
            errors=[{"field": "items", "detail": "items is not a list"}],
        )
    most = call.services.settings.api_batch_max
    if not items or len(items) > most:
        raise Problem(
            422,
            "validation",
            f"a batch has 1 to {most:,} items; this one has {len(items):,}",
            errors=[{"field": "items", "detail": f"items holds 1 to {most:,} items"}],
        )
    return items


def _batch_result(result: IngestResult) -> tuple[int, Any]:
    if not result.ok:
        raise invalid(result.errors, batch=True)
    return 200, {"created": result.created, "updated": result.updated}


async def _stored(
    result: IngestResult, read: Callable[[], Awaitable[dict[str, Any] | None]]
) -> tuple[int, Any]:
    if not result.ok:
        raise invalid(result.errors, batch=False)
    return (201 if result.created else 200), await read()


# --- customers ----------------------------------------------------------------------------


async def put_customer(call: Call) -> tuple[int, Any]:
    """Create or update one customer by code."""
    result = await call.services.ingest.customers([_record(call)])
    return await _stored(result, lambda: call.services.ingest.customer(call.params["code"]))


async def post_customers(call: Call) -> tuple[int, Any]:
    """Create or update up to a batch of customers, all or none."""
    return _batch_result(await call.services.ingest.customers(_items(call)))


async def get_customer(call: Call) -> tuple[int, Any]:
    """A customer with tier, segment, lifetime value, CLV and consent."""
    found = await call.services.ingest.customer(call.params["code"])
    if found is None:
        raise Problem(404, "not-found", "no customer has this code")
    return 200, found


# --- orders -------------------------------------------------------------------------------


async def put_order(call: Call) -> tuple[int, Any]:
    """Create or update one order or inquiry by code; delivered starts the care programme."""
    result = await call.services.ingest.orders([_record(call)])
    return await _stored(result, lambda: call.services.ingest.order(call.params["code"]))


async def post_orders(call: Call) -> tuple[int, Any]:
    """Create or update up to a batch of orders, all or none."""
    return _batch_result(await call.services.ingest.orders(_items(call)))


async def get_order(call: Call) -> tuple[int, Any]:
    """An order's status, times, amounts, lines and thank-you."""
    found = await call.services.ingest.order(call.params["code"])
    if found is None:
        raise Problem(404, "not-found", "no order has this code")
    return 200, found


# --- products -----------------------------------------------------------------------------


async def put_product(call: Call) -> tuple[int, Any]:
    """Create or update one product of the catalogue by code."""
    result = await call.services.ingest.products([_record(call)])
    return await _stored(result, lambda: call.services.products.get(call.params["code"]))


async def post_products(call: Call) -> tuple[int, Any]:
    """Create or update up to a batch of products, all or none."""
    return _batch_result(await call.services.ingest.products(_items(call)))


async def get_product(call: Call) -> tuple[int, Any]:
    found = await call.services.products.get(call.params["code"])
    if found is None:
        raise Problem(404, "not-found", "no product has this code")
    return 200, found


async def list_products(call: Call) -> tuple[int, Any]:
    """The catalogue; ``?active=true`` for what is on sale."""
    active = call.request.query_params.get("active")
    only_active = active is not None and active.lower() in ("1", "true", "yes")
    return 200, {"items": await call.services.products.listing(active_only=only_active)}


# --- webhooks -----------------------------------------------------------------------------


async def post_webhook(call: Call) -> tuple[int, Any]:
    """Subscribe a URL to events; the answer carries the signing secret, once."""
    body = call.body if isinstance(call.body, dict) else {}
    try:
        made = await call.services.webhooks.subscribe(
            str(body.get("url") or ""), body.get("events") or []
        )
    except WebhookError as exc:
        field = "events" if "event" in str(exc) else "url"
        raise Problem(
            422, "validation", str(exc), errors=[{"field": field, "detail": str(exc)}]
        ) from None
    return 201, {**made.view.as_json(), "secret": made.secret}


async def list_webhooks(call: Call) -> tuple[int, Any]:
    views = await call.services.webhooks.subscriptions()
    return 200, {"items": [view.as_json() for view in views]}


async def delete_webhook(call: Call) -> tuple[int, Any]:
    raw = call.params["id"]
    if not str(raw).isdigit() or not await call.services.webhooks.end(int(raw)):
        raise Problem(404, "not-found", "no active subscription has this id")
    return 200, {"id": int(raw), "active": False}
