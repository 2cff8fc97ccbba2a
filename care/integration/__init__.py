"""The shop's other systems: API keys, what they push (customers, orders, products),
Idempotency-Key replays, and the webhooks that tell them what happened here.

Offers ApiKeys (make, list, revoke, check keys), Ingest (create or update by the shop's
codes through the import checks; a delivered order's thank-you at once) and
IdempotencyStore, and Webhooks (subscriptions, signatures, the delivery log).
"""

from care.integration.api_keys import (
    SCOPES,
    ApiKeyError,
    ApiKeys,
    ApiKeyView,
    NewApiKey,
    parse_scopes,
)
from care.integration.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyStore,
    StoredResponse,
    request_fingerprint,
)
from care.integration.ingest import Ingest, IngestResult
from care.integration.webhooks import (
    EVENTS,
    SIGNATURE_HEADER,
    DeliveryView,
    NewWebhook,
    WebhookError,
    Webhooks,
    WebhookView,
    sign,
    verify,
)

__all__ = [
    "EVENTS",
    "MAX_KEY_LENGTH",
    "SCOPES",
    "SIGNATURE_HEADER",
    "ApiKeyError",
    "ApiKeyView",
    "ApiKeys",
    "DeliveryView",
    "IdempotencyStore",
    "Ingest",
    "IngestResult",
    "NewApiKey",
    "NewWebhook",
    "StoredResponse",
    "WebhookError",
    "WebhookView",
    "Webhooks",
    "parse_scopes",
    "request_fingerprint",
    "sign",
    "verify",
]
