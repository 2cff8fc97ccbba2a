"""The callback context of our handlers: the services and the reader's language at hand."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from care.core.rendering import LANGUAGES
from care.services import Services


class CareContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """``context.services`` instead of digging in ``bot_data`` in every handler."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    def language(self, telegram_language_code: str | None = None) -> str:
        """The reader's language: chosen with /language, else Telegram's, else the default."""
        chosen = (self.user_data or {}).get("language") if self._user_id else None
        if chosen in LANGUAGES:
            return chosen
        code = (telegram_language_code or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
        return self.services.settings.default_language
