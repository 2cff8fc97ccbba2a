"""The things the sandbox Telegram knows about: users, chats, files, the bot's messages."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

BOT_USERNAME = "carebot_sandbox_bot"
BOT_FIRST_NAME = "CareBot"


class ApiError(Exception):
    """A Bot API error answer: the HTTP status is the error code, as with Telegram."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


@dataclass(eq=False)
class SimUser:
    """A simulated Telegram user (a customer or a member of staff)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    blocked: bool = False  # has blocked the bot
    deactivated: bool = False  # deleted their account

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(eq=False)
class SimChat:
    """A private chat with one user, or a group the bot is in."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    user: SimUser | None = None  # the other side of a private chat
    members: dict[int, str] = field(default_factory=dict)  # user id -> "member"/"administrator"
    bot_is_admin: bool = True  # an admin bot sees every group message; otherwise privacy mode
    last_message_id: int = 0

    @property
    def is_group(self) -> bool:
        return self.type != "private"

    def to_dict(self) -> dict[str, Any]:
        if self.user is not None:
            data = self.user.to_dict()
            data.pop("is_bot")
            data.pop("language_code", None)
            return {**data, "type": "private"}
        return {"id": self.id, "type": self.type, "title": self.title}


@dataclass
class StoredFile:
    """A file Telegram keeps: uploaded by the bot or sent by a simulated user."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Revision:
    """What a message looked like before an edit."""

    text: str
    raw_text: str
    entities: list[dict]
    reply_markup: dict | None
    time: float


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, as a test wants to read it; edits update it in place.

    ``text`` is the plain text (or the caption) after entity parsing, ``raw_text`` what the
    bot sent; ``reply_markup`` is whatever markup the bot sent, reply keyboards included.
    """

    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    entities: list[dict]
    reply_markup: dict | None
    photo: list[dict] | None = None
    document: dict | None = None
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    protect_content: bool = False
    edited: bool = False
    history: list[Revision] = field(default_factory=list)
    deleted: bool = False
    time: float = field(default_factory=time.monotonic)
    seq: int = 0  # position of its latest send or edit in the sandbox's event order

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """The inline buttons, row by row, as (text, callback_data)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data")) for row in rows for b in row]

    @property
    def keyboard(self) -> list[str]:
        """The texts of a reply keyboard's buttons, row by row."""
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [b if isinstance(b, str) else b["text"] for row in rows for b in row]


@dataclass(frozen=True)
class CallbackAnswer:
    """How the bot answered a button press (answerCallbackQuery)."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class Stats:
    """What the bot asked of the sandbox: requests per method, 429s and other refusals,
    and the connections a fault dropped."""

    requests: Counter[str] = field(default_factory=Counter)
    too_many_requests: int = 0
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (method, description)
    dropped: Counter[str] = field(default_factory=Counter)  # method -> connections dropped
