"""Survey links: the signed token that lets a customer without Telegram answer a
satisfaction survey on a web page, by the link in an e-mail.

A token is ``<survey id>.<signature>`` signed with the shop's secret key for this purpose
only (``care.core.keys``), so it cannot be forged, cannot be turned into an unsubscribe
link or the other way round, and survives a key rotation. It names a survey, not a
customer: whoever holds the e-mail may answer, once. What arrives in a URL is checked for
shape first, then for its signature: an odd token is simply not ours.
"""

from __future__ import annotations

import re

from itsdangerous import BadSignature

from care.core.keys import Keys
from care.core.settings import Settings

PURPOSE = "survey"
MAX_TOKEN_LENGTH = 80
TOKEN = re.compile(r"([0-9]{1,18})\.[A-Za-z0-9_-]{43}")


class SurveyLinks:
    """Make and read the web survey links of one shop."""

    def __init__(self, settings: Settings, keys: Keys) -> None:
        self.settings = settings
        self.keys = keys

    def token(self, survey_id: int) -> str:
        return self.keys.signer(PURPOSE).sign(str(survey_id)).decode("ascii")

    def read(self, token: str) -> int | None:
        """The survey a token names, or None if it is not one of ours."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        match = TOKEN.fullmatch(token)
        if match is None:
            return None
        try:
            self.keys.signer(PURPOSE).unsign(token)
        except BadSignature:
            return None
        return int(match.group(1))

    def url(self, survey_id: int) -> str:
        base = self.settings.public_base_url.rstrip("/")
        return f"{base}/survey/{self.token(survey_id)}"
