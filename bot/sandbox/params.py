"""Reading Bot API parameters however the client encoded them.

Telegram takes parameters from the query string, a form, a multipart body or a JSON body.
In forms every value is a string and objects are JSON-encoded strings (that is how
python-telegram-bot sends them); in a JSON body values keep their types. ``Params`` hides
the difference and answers the 400s Telegram answers for values of the wrong kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.sandbox.model import bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    file_name: str | None
    mime_type: str | None


class Params:
    """The parameters of one call; files are the multipart parts that carried a file."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = {k: v for k, v in values.items() if v is not None}
        self.files = files or {}

    def has(self, name: str) -> bool:
        return name in self.values or name in self.files

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, dict | list):
            raise bad_request(f'field "{name}" must be of type String')
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def required_integer(self, name: str, missing: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(missing)
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name, False)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, what: str) -> Any:
        """An object or array parameter; ``what`` names it in the error, as Telegram does."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what} JSON object") from None
        if value is not None and not isinstance(value, dict | list):
            raise bad_request(f"can't parse {what} JSON object")
        return value
