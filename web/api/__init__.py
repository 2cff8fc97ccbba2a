"""The HTTP API for the shop's systems: /api/v1.

JSON in and out; errors as RFC 9457 problem details; keys, scopes, rate, body size and
Idempotency-Key checked by the gate (``web.api.gate``) before a route runs. The OpenAPI
3.1 document is at /api/v1/openapi.json, its readable form at /api/v1/docs.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from web.api import docs, resources
from web.api.gate import Gate

PREFIX = "/api/v1"


def routes() -> list[BaseRoute]:
    """The API's routes under /api/v1, with one gate (the per-key rate limiters)."""
    gate = Gate()
    r = resources
    return [
        Mount(
            PREFIX,
            routes=[
                Route("/openapi.json", docs.openapi_json, methods=["GET"]),
                Route("/docs", docs.docs_page, methods=["GET"]),
                Route(
                    "/customers",
                    gate.endpoint("customers:write", r.post_customers, writes=True),
                    methods=["POST"],
                ),
                Route(
                    "/customers/{code}",
                    gate.endpoint("customers:write", r.put_customer, writes=True),
                    methods=["PUT"],
                ),
                Route(
                    "/customers/{code}",
                    gate.endpoint("read", r.get_customer),
                    methods=["GET"],
                ),
                Route(
                    "/orders",
                    gate.endpoint("orders:write", r.post_orders, writes=True),
                    methods=["POST"],
                ),
                Route(
                    "/orders/{code}",
                    gate.endpoint("orders:write", r.put_order, writes=True),
                    methods=["PUT"],
                ),
                Route("/orders/{code}", gate.endpoint("read", r.get_order), methods=["GET"]),
                Route("/products", gate.endpoint("read", r.list_products), methods=["GET"]),
                Route(
                    "/products",
                    gate.endpoint("products:write", r.post_products, writes=True),
                    methods=["POST"],
                ),
                Route(
                    "/products/{code}",
                    gate.endpoint("products:write", r.put_product, writes=True),
                    methods=["PUT"],
                ),
                Route("/products/{code}", gate.endpoint("read", r.get_product), methods=["GET"]),
                Route(
                    "/webhooks",
                    gate.endpoint("webhooks:write", r.post_webhook, writes=True),
                    methods=["POST"],
                ),
                Route(
                    "/webhooks",
                    gate.endpoint("webhooks:write", r.list_webhooks),
                    methods=["GET"],
                ),
                Route(
                    "/webhooks/{id}",
                    gate.endpoint("webhooks:write", r.delete_webhook, writes=True),
                    methods=["DELETE"],
                ),
            ],
        )
    ]
