"""The OpenAPI 3.1 document of /api/v1, written out by hand from the import columns.

It is the contract integrators code against, so it says what the gate and the routes do:
bearer keys and their scopes, problem+json errors, Idempotency-Key, batches of at most
``api_batch_max`` items. A test validates it with openapi-spec-validator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from care.core.settings import Settings
from care.integration import SCOPES

MONEY = {
    "description": "Whole đồng: a JSON number, or a string as a file cell takes it "
    "('1.250.000', '1,5tr', '500k').",
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
}
WHOLE = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}
MOMENT = {
    "type": "string",
    "description": "ISO 8601 with an offset ('2026-11-20T14:30:00+07:00'); without an offset "
    "the shop's local time; a date alone ('2026-11-20') is that day in the shop's time zone.",
}
DAY = {"type": ["string", "null"], "description": "YYYY-MM-DD or dd/mm/yyyy"}
YES_NO = {"oneOf": [{"type": "boolean"}, {"type": "string"}], "description": "true/false, yes/no"}


def _text(limit: int, description: str | None = None, *, nullable: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "maxLength": limit,
    }
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Customer": {
        "type": "object",
        "description": "A customer, fields named as the import columns. An update leaves "
        "fields that are not sent as they are.",
        "required": ["kind", "name", "phone"],
        "additionalProperties": False,
        "properties": {
            "code": _text(40, "The shop's code; optional in a PUT (the URL's).", nullable=False),
            "kind": {"type": "string", "description": "individual or organization"},
            "name": _text(200, nullable=False),
            "phone": {"type": "string", "description": "Stored as E.164 (+84...)."},
            "email": {"type": ["string", "null"]},
            "birthday": DAY,
            "region": _text(100),
            "language": {"type": "string", "enum": ["vi", "en"]},
            "contact_person": _text(200),
            "address": _text(500),
            "occupation": _text(200),
            "size": WHOLE,
            "marketing_consent": YES_NO,
        },
    },
    "CustomerView": {
        "type": "object",
        "required": ["code", "kind", "name", "consent", "tier", "ltv", "clv_12m"],
        "properties": {
            "code": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "contact_person": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "address": {"type": ["string", "null"]},
            "region": {"type": ["string", "null"]},
            "birthday": {"type": ["string", "null"], "format": "date"},
            "occupation": {"type": ["string", "null"]},
            "size": {"type": ["integer", "null"]},
            "language": {"type": "string"},
            "consent": {
                "type": "object",
                "properties": {"telegram": {"type": "boolean"}, "email": {"type": "boolean"}},
            },
            "tier": {"type": ["string", "null"]},
            "segment": {"type": ["string", "null"]},
            "ltv": {"type": "integer", "description": "Historical lifetime value, đồng."},
            "clv_12m": {"type": ["integer", "null"], "description": "Predicted 12-month CLV."},
            "p_alive": {"type": ["number", "null"]},
            "orders": {"type": "integer"},
            "classified_on": {"type": ["string", "null"], "format": "date"},
        },
    },
    "OrderLine": {
        "type": "object",
        "required": ["product"],
        "additionalProperties": False,
        "properties": {
            "product": _text(200, "A product's code or name.", nullable=False),
            "quantity": WHOLE,
            "unit_price": MONEY,
            "discount": MONEY,
            "amount": MONEY,
        },
    },
    "Order": {
        "type": "object",
        "description": "An order or inquiry, fields named as the import columns.",
        "required": ["customer_code", "kind", "status", "placed_at"],
        "additionalProperties": False,
        "properties": {
            "code": _text(40, "Optional in a PUT (the URL's).", nullable=False),
            "customer_code": _text(40, "A customer already known.", nullable=False),
            "kind": {"type": "string", "enum": ["order", "inquiry"]},
            "status": {
                "type": "string",
                "description": "order: new, confirmed, shipping, delivered, cancelled, "
                "returned; inquiry: open, quoted, converted, lost",
            },
            "placed_at": MOMENT,
            "delivered_at": {**MOMENT, "type": ["string", "null"]},
            "amount": {**MONEY, "description": "Required for orders. " + MONEY["description"]},
            "margin": MONEY,
            "discount": MONEY,
            "payment_terms": _text(200),
            "product": _text(200, "One product (as a file's row); or use lines."),
            "quantity": WHOLE,
            "lines": {"type": "array", "items": _ref("OrderLine")},
        },
    },
    "OrderView": {
        "type": "object",
        "required": ["code", "customer_code", "kind", "status", "placed_at"],
        "properties": {
            "code": {"type": "string"},
            "customer_code": {"type": "string"},
            "kind": {"type": "string"},
            "status": {"type": "string"},
            "placed_at": {"type": "string", "format": "date-time"},
            "delivered_at": {"type": ["string", "null"], "format": "date-time"},
            "amount": {"type": "integer"},
            "margin": {"type": "integer"},
            "discount": {"type": "integer"},
            "payment_terms": {"type": ["string", "null"]},
            "lines": {"type": "array", "items": {"type": "object"}},
            "thank_you": {
                "type": ["string", "null"],
                "description": "The thank-you's state in the outbox: pending, sent, skipped...",
            },
        },
    },
    "Product": {
        "type": "object",
        "required": ["name", "price"],
        "additionalProperties": False,
        "properties": {
            "code": _text(40, "Optional in a PUT (the URL's).", nullable=False),
            "name": _text(200, nullable=False),
            "category": _text(100),
            "price": MONEY,
            "active": YES_NO,
            "featured": YES_NO,
            "added_on": {**DAY, "description": "When it joined the range (default: today)."},
        },
    },
    "ProductView": {
        "type": "object",
        "required": ["code", "name", "price", "active"],
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "category": {"type": ["string", "null"]},
            "price": {"type": "integer"},
            "active": {"type": "boolean"},
            "featured": {"type": "boolean"},
            "added_on": {"type": ["string", "null"], "format": "date"},
        },
    },
    "BatchResult": {
        "type": "object",
        "required": ["created", "updated"],
        "properties": {"created": {"type": "integer"}, "updated": {"type": "integer"}},
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {
                        "index": {"type": "integer", "description": "The item, in a batch."},
                        "field": {"type": ["string", "null"]},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    },
    "Webhook": {
        "type": "object",
        "required": ["url", "events"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "events": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": [
                        "ticket.created",
                        "ticket.resolved",
                        "survey.answered",
                        "customer.erased",
                    ],
                },
            },
        },
    },
    "WebhookView": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string"}},
            "active": {"type": "boolean"},
            "secret": {
                "type": "string",
                "description": "Only in the answer to the subscription: the HMAC-SHA256 key.",
            },
        },
    },
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON = {
    "401": _problem("No key, or an unknown or revoked key."),
    "403": _problem("The key lacks the scope."),
    "429": {
        **_problem("Over the key's rate; wait Retry-After seconds."),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
WRITES = {
    **COMMON,
    "400": _problem("The body is not JSON, or a bad Idempotency-Key."),
    "409": _problem("A concurrent request changed the same records; send it again."),
    "413": _problem("The body is over the size limit."),
    "422": _problem(
        "Invalid fields (each named; in a batch with the item's index); or an "
        "Idempotency-Key reused for another request."
    ),
}
CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key within 24 hours gets the first response.",
    "schema": {"type": "string", "maxLength": 200},
}


def _security(scope: str) -> list[dict[str, list[str]]]:
    return [{"apiKey": [scope]}]


def _put(name: str, view: str, scope: str, summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": f"put{name}",
        "security": _security(scope),
        "parameters": [CODE, IDEMPOTENCY],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(name)}},
        },
        "responses": {
            "200": _json(_ref(view), "Updated."),
            "201": _json(_ref(view), "Created."),
            **WRITES,
        },
    }


def _batch(name: str, scope: str, most: int) -> dict[str, Any]:
    return {
        "summary": f"Create or update up to {most:,} records, all or none.",
        "operationId": f"post{name}Batch",
        "security": _security(scope),
        "parameters": [IDEMPOTENCY],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["items"],
                        "properties": {
                            "items": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": most,
                                "items": _ref(name),
                            }
                        },
                    }
                }
            },
        },
        "responses": {"200": _json(_ref("BatchResult"), "Written."), **WRITES},
    }


def _get(name: str, view: str, summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": f"get{name}",
        "security": _security("read"),
        "parameters": [CODE],
        "responses": {
            "200": _json(_ref(view), "Found."),
            "404": _problem("No record has this code."),
            **COMMON,
        },
    }


@lru_cache(maxsize=4)
def _document(batch_max: int, base_url: str, shop_name: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"CareBot API · {shop_name}",
            "version": "1.0.0",
            "description": "Push customers, orders and products from the shop's sales "
            "system; read them back with tier, lifetime value and consent; subscribe to "
            "events. Keys: `carebot api-key create NAME --scopes ...`.",
        },
        "servers": [{"url": base_url.rstrip("/") + "/api/v1"}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer KEY. Scopes: " + ", ".join(SCOPES),
                }
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/customers/{code}": {
                "put": _put(
                    "Customer", "CustomerView", "customers:write", "Create or update a customer."
                ),
                "get": _get("Customer", "CustomerView", "A customer with tier, LTV, CLV, consent."),
            },
            "/customers": {"post": _batch("Customer", "customers:write", batch_max)},
            "/orders/{code}": {
                "put": _put(
                    "Order",
                    "OrderView",
                    "orders:write",
                    "Create or update an order; delivered starts the care programme at once.",
                ),
                "get": _get("Order", "OrderView", "An order's status."),
            },
            "/orders": {"post": _batch("Order", "orders:write", batch_max)},
            "/products/{code}": {
                "put": _put(
                    "Product", "ProductView", "products:write", "Create or update a product."
                ),
                "get": _get("Product", "ProductView", "A product of the catalogue."),
            },
            "/products": {
                "post": _batch("Product", "products:write", batch_max),
                "get": {
                    "summary": "The catalogue.",
                    "operationId": "listProducts",
                    "security": _security("read"),
                    "parameters": [
                        {"name": "active", "in": "query", "schema": {"type": "boolean"}}
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": _ref("ProductView")}
                                },
                            },
                            "The products.",
                        ),
                        **COMMON,
                    },
                },
            },
            "/webhooks": {
                "post": {
                    "summary": "Subscribe a URL to events; the answer has the signing secret.",
                    "operationId": "postWebhook",
                    "security": _security("webhooks:write"),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Webhook")}},
                    },
                    "responses": {"201": _json(_ref("WebhookView"), "Subscribed."), **WRITES},
                },
                "get": {
                    "summary": "The subscriptions.",
                    "operationId": "listWebhooks",
                    "security": _security("webhooks:write"),
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": _ref("WebhookView")}
                                },
                            },
                            "The subscriptions.",
                        ),
                        **COMMON,
                    },
                },
            },
            "/webhooks/{id}": {
                "delete": {
                    "summary": "End a subscription.",
                    "operationId": "deleteWebhook",
                    "security": _security("webhooks:write"),
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "Ended."},
                        "404": _problem("No such subscription."),
                        **COMMON,
                    },
                }
            },
        },
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    return _document(settings.api_batch_max, settings.public_base_url, settings.shop_name)
