"""Conversation, user and chat data kept in our database, so a restart loses nothing.

python-telegram-bot asks a ``BasePersistence`` for its state at start and hands back
changes every ``update_interval`` seconds and at shutdown. We keep them as JSON rows in
``bot_state``; ``bot_data`` holds the live services and is never stored. Values put in
``user_data`` or ``chat_data`` must therefore be JSON-friendly (str, int, lists, dicts).

python-telegram-bot hands back the user's and the chat's data after every update, changed
or not; only what differs from what is stored is written, so a question to the FAQ costs
no write here (an empty dict is stored as no row at all).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from care.core.db import Database
from care.core.models import BotState
from care.core.text import utcnow


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """PTB persistence over the ``bot_state`` table (JSON, never a pickle file)."""

    def __init__(self, db: Database, *, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.db = db
        # What each row holds now, as JSON text (absent: no row), to skip unchanged data.
        self._stored: dict[tuple[str, str], str] = {}

    # --- reading at start ------------------------------------------------------------

    async def _rows(self, kind: str) -> dict[str, Any]:
        async with self.db.uow() as uow:
            rows = await uow.session.execute(
                select(BotState.key, BotState.data).where(BotState.kind == kind)
            )
            found = {key: data for key, data in rows}
        for key, data in found.items():
            if data:
                self._stored[(kind, key)] = _text(data)
        return found

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return {int(key): data or {} for key, data in (await self._rows("user")).items()}

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {int(key): data or {} for key, data in (await self._rows("chat")).items()}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self._rows(f"conversation:{name}")
        return {tuple(json.loads(key)): data["state"] for key, data in rows.items() if data}

    # --- writing changes -------------------------------------------------------------

    async def _put(self, kind: str, key: str, data: Any) -> None:
        text = None if data is None or data == {} else _text(data)
        if self._stored.get((kind, key)) == text:
            return
        async with self.db.uow() as uow:
            row = await uow.session.scalar(
                select(BotState).where(BotState.kind == kind, BotState.key == key)
            )
            if not data:  # nothing to remember (an empty user_data): keep no row at all
                if row is not None:
                    await uow.session.delete(row)
            elif row is None:
                uow.session.add(BotState(kind=kind, key=key, data=data, updated_at=utcnow()))
            else:
                row.data = data
                row.updated_at = utcnow()
            await uow.commit()
        if text is None:
            self._stored.pop((kind, key), None)
        else:
            self._stored[(kind, key)] = text

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._put("user", str(user_id), dict(data))

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        await self._put("chat", str(chat_id), dict(data))

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """bot_data holds live services: never stored."""

    async def update_callback_data(self, data: CDCData) -> None:
        """Arbitrary callback data is not used."""

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        payload = None if new_state is None else {"state": new_state}
        await self._put(f"conversation:{name}", json.dumps(list(key)), payload)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", str(chat_id))

    async def _drop(self, kind: str, key: str) -> None:
        async with self.db.uow() as uow:
            await uow.session.execute(
                delete(BotState).where(BotState.kind == kind, BotState.key == key)
            )
            await uow.commit()
        self._stored.pop((kind, key), None)

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """The database is written only by this process: nothing to refresh."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """The database is written only by this process: nothing to refresh."""

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """bot_data is never stored."""

    async def flush(self) -> None:
        """Every change is committed when it is handed over: nothing buffered."""


def _text(data: Any) -> str:
    """Stored data as comparable JSON text (keys sorted, so equal data compares equal)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False)
