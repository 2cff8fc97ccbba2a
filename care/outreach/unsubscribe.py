"""Unsubscribe links: the signed token naming a customer, its URL and the e-mail headers.

Every e-mail the care programme sends carries the link visibly and in
``List-Unsubscribe`` with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058),
so a mail provider's button unsubscribes with one POST (served by ``web.routes.unsubscribe``).
There is no mailto: form: nothing would read the mails it asks for.

A token is ``<customer id>.<signature>``, signed with the shop's secret key
(``care.core.keys``), so rotating the key keeps links already sent valid. Whatever arrives
in a URL is checked for shape first (ASCII digits, a bounded length) and only then for its
signature: an odd token is simply not ours, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from itsdangerous import BadSignature

from care.core.keys import Keys
from care.core.settings import Settings

PURPOSE = "unsubscribe"
MAX_TOKEN_LENGTH = 80
# The id, then an HMAC-SHA256 in URL-safe base64 without padding (43 characters).
TOKEN = re.compile(r"([0-9]{1,18})\.[A-Za-z0-9_-]{43}")
# Links signed before the secret key existed: an HMAC under a key derived from the bot
# token and the database URL. Still accepted while those are unchanged (cheap, and mails
# already sent keep their working link); nothing is signed this way any more.
LEGACY_TOKEN = re.compile(r"([0-9]{1,18})\.[0-9a-f]{24}")


class UnsubscribeLinks:
    """Make and read the unsubscribe links of one shop."""

    def __init__(self, settings: Settings, keys: Keys) -> None:
        self.settings = settings
        self.keys = keys

    def token(self, customer_id: int) -> str:
        """An unguessable token naming one customer."""
        return self.keys.signer(PURPOSE).sign(str(customer_id)).decode("ascii")

    def read(self, token: str) -> int | None:
        """The customer id a token names, or None if it is not one of ours."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        match = TOKEN.fullmatch(token)
        if match is not None:
            try:
                self.keys.signer(PURPOSE).unsign(token)
            except BadSignature:
                return None
            return int(match.group(1))
        legacy = LEGACY_TOKEN.fullmatch(token)
        if legacy is not None and hmac.compare_digest(
            _legacy_token(int(legacy.group(1)), self.settings), token
        ):
            return int(legacy.group(1))
        return None

    def url(self, customer_id: int) -> str:
        base = self.settings.public_base_url.rstrip("/")
        return f"{base}/unsubscribe/{self.token(customer_id)}"

    def headers(self, customer_id: int) -> dict[str, str]:
        """RFC 2369 and RFC 8058 one-click headers."""
        return {
            "List-Unsubscribe": f"<{self.url(customer_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }


def _legacy_token(customer_id: int, settings: Settings) -> str:
    """The token the first versions signed (see LEGACY_TOKEN)."""
    if settings.unsubscribe_secret is not None:
        key = settings.unsubscribe_secret.get_secret_value().encode()
    else:
        bot_token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
        key = hashlib.sha256(f"{bot_token}|{settings.database_url}".encode()).digest()
    mac = hmac.new(key, f"unsubscribe:{customer_id}".encode(), hashlib.sha256)
    return f"{customer_id}.{mac.hexdigest()[:24]}"
