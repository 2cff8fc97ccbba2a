"""The bot's Application: python-telegram-bot's, with one unit of work per update.

Every update is handled inside one unit of work (care/db.py) opened here, handed to the
handlers through their context (``context.work``) and committed once: when the bot
answers the person who wrote (``reply`` and ``edit`` in bot/handlers/common.py store the
update's work just before the answer goes out, so whoever reads the answer finds what it
speaks of stored), and at the end for whatever came after. The unit is opened with
``autoflush=False``: nothing is written before that commit, so no write lock is held while
the bot waits for Telegram, and an update that writes nothing (a flood dropped) costs no
transaction at all.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application

from care.core.db import UnitOfWork

log = logging.getLogger("carebot.bot")


class CareApplication(Application[Any, Any, Any, Any, Any, Any]):
    """``Application`` whose ``process_update`` runs each update in a unit of work."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._units: dict[object, UnitOfWork] = {}

    def unit_of(self, update: object) -> UnitOfWork | None:
        """The unit of work of ``update`` while it is being handled, else None."""
        return self._units.get(update)

    async def process_update(self, update: object) -> None:
        async with self.bot_data["services"].db.uow(autoflush=False) as unit:
            self._units[update] = unit
            try:
                await super().process_update(update)
            finally:
                del self._units[update]
            if not unit.pending:
                return
            try:
                await unit.commit()
            except Exception:
                # What is left at the end follows what has gone out already (the answer,
                # or the post in the staff chat): there is nothing more to tell the sender.
                log.exception("the work of an update could not be stored")
