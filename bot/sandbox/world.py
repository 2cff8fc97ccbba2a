"""The state of the sandbox Telegram, shared by the Bot API side and the simulation side.

Everything runs on one event loop, so state changes need no locks. Whoever waits for a
change (a long-polling getUpdates, a test's ``wait_for``) waits on one asyncio.Event that is
set and replaced on every change, then checks its own condition again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from bot.sandbox.model import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    CallbackAnswer,
    SentMessage,
    SimChat,
    SimUser,
    StoredFile,
)

T = TypeVar("T")

# Update types Telegram leaves out unless a bot asks for them by name.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def bot_user(bot_id: int, username: str = BOT_USERNAME) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": username}


class World:
    """Users, chats, messages, files and the update queue of one sandbox."""

    def __init__(self) -> None:
        self.bot: dict[str, Any] = bot_user(0)  # replaced when the bot's token is first seen
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat id, message id)
        self.files: dict[str, StoredFile] = {}
        self.photo_sets: dict[str, list[dict]] = {}  # file id of any size -> all sizes
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1000
        self.allowed_updates: list[str] = []  # empty: Telegram's default selection
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_last_error: tuple[int, str] | None = None  # (unix time, message)
        self.events: list[SentMessage] = []  # the bot's sends and edits; seq = index + 1
        self.sent_index: dict[tuple[int, int], SentMessage] = {}
        self.callback_queries: dict[str, float] = {}  # open query id -> monotonic time pressed
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, language)
        self.chat_actions: list[tuple[int, str]] = []
        self.settings: dict[str, Any] = {}  # descriptions, menu buttons: accepted and kept
        self._change = asyncio.Event()

    # --- waiting for changes ------------------------------------------------------------

    def changed(self) -> None:
        """Wake everyone waiting; they re-check what they wait for."""
        self._change.set()
        self._change = asyncio.Event()

    async def wait_until(self, check: Callable[[], T | None], seconds: float) -> T | None:
        """The first truthy result of check(), re-checked on every change; None after
        ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            change = self._change  # taken before checking, so no change slips in between
            result = check()
            remaining = deadline - loop.time()
            if result or remaining <= 0:
                return result
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change.wait(), remaining)

    # --- updates ------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update for getUpdates unless the bot's allowed_updates excludes it.

        Like Telegram, the filter applies when the update is created, not when it is fetched.
        """
        allowed = (
            kind in self.allowed_updates if self.allowed_updates else (kind not in OPT_IN_UPDATES)
        )
        if not allowed:
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.changed()
        return update

    # --- chats and messages -------------------------------------------------------------

    def private_chat(self, user: SimUser) -> SimChat:
        if user.id not in self.chats:
            self.chats[user.id] = SimChat(id=user.id, type="private", user=user)
        return self.chats[user.id]

    def new_message(
        self, chat: SimChat, sender: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a message in a chat under the chat's next message id."""
        chat.last_message_id += 1
        message = {
            "message_id": chat.last_message_id,
            "from": sender,
            "chat": chat.to_dict(),
            "date": int(time.time()),
            **content,
        }
        self.messages[(chat.id, chat.last_message_id)] = message
        return message

    def record_event(self, sent: SentMessage) -> None:
        """Log a send or an edit by the bot, for ``wait_for``."""
        self.events.append(sent)
        sent.seq = len(self.events)
        self.sent_index[(sent.chat_id, sent.message_id)] = sent
        self.changed()

    # --- files --------------------------------------------------------------------------

    def add_file(self, kind: str, data: bytes, **details: Any) -> StoredFile:
        """Keep a file under a new file_id as long and opaque as Telegram's."""
        file_id = secrets.token_urlsafe(54)
        suffix = PurePosixPath(details.get("file_name") or "").suffix
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=secrets.token_urlsafe(12),
            kind=kind,
            data=data,
            file_path=f"{kind}s/file_{len(self.files)}{suffix}",
            **details,
        )
        self.files[file_id] = stored
        return stored

    def add_photo(self, sizes: list[tuple[int, int, bytes]]) -> list[dict[str, Any]]:
        """Keep a photo in several sizes (width, height, bytes); returns the PhotoSize list."""
        photo = []
        for width, height, data in sizes:
            stored = self.add_file("photo", data, file_name="photo.jpg")
            photo.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        for size in photo:
            self.photo_sets[size["file_id"]] = photo
        return photo
