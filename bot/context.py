"""The callback context of our handlers: the services, the reader's language, the update's
unit of work and the customer behind the update, at hand."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from care.core.db import UnitOfWork
from care.core.rendering import LANGUAGES
from care.customers import CustomerView, Sender
from care.services import Services


class CareContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """``context.services`` instead of digging in ``bot_data`` in every handler, and what
    the whole update shares: its unit of work (``work``) and its customer (``customer``)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._update: object | None = None
        self._customer: CustomerView | None = None
        self._customer_known = False
        self.open_ticket_id: int | None = None  # the ticket open with ``customer``, if any
        # The log entry of the update's own message while it waits for the commit, so a
        # handler can still mark it staff work (bot/handlers/staff.py).
        self.inbound_entry: dict[str, Any] | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> CareContext:
        context = super().from_update(update, application)
        context._update = update
        return context

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def work(self) -> UnitOfWork | None:
        """The unit of work of the update being handled (see bot/application.py); None
        outside one, e.g. when a conversation times out, where services use their own."""
        unit_of = getattr(self.application, "unit_of", None)
        if unit_of is None or self._update is None:
            return None
        unit: UnitOfWork | None = unit_of(self._update)
        return unit

    async def commit(self) -> None:
        """Store what the update did so far; its unit of work goes on for the rest.

        For the few handlers whose service works in a transaction of its own on what the
        update logged: linking adopts the messages written before it, erasure erases them,
        the copy of one's data includes them.
        """
        work = self.work
        if work is None or not work.pending:
            return
        try:
            await work.commit()
        except Exception:
            await work.rollback()  # what failed is not tried again when the update ends
            raise

    @property
    def customer(self) -> CustomerView | None:
        """The customer linked to the sender, looked up once per update before any handler
        (bot/handlers/guards.py), or as a handler changed it (linking, erasure)."""
        if not self._customer_known:
            raise RuntimeError("the customer of this update has not been looked up")
        return self._customer

    @customer.setter
    def customer(self, customer: CustomerView | None) -> None:
        self._customer = customer
        self._customer_known = True
        self.open_ticket_id = None  # another customer now: no ticket of theirs is known

    async def mark_staff_work(self, chat_id: int, message_id: int) -> None:
        """The update's message is staff work (a staff command in a private chat): it
        leaves the sender's own customer record, whether stored yet or not."""
        entry = self.inbound_entry
        if entry is not None and entry.get("message_id") == message_id:
            entry["internal"], entry["customer_id"] = True, None
            if self.work is not None and not self.work.take_back(entry):
                await self.services.interactions.mark_internal(chat_id, message_id)
            elif self.work is not None:
                self.work.later(self.services.interactions.insert_statement, entry)
            return
        await self.services.interactions.mark_internal(chat_id, message_id)

    def identify(self, sender: Sender) -> None:
        """Keep who is behind the update (looked up once, before any handler)."""
        self.customer = sender.customer
        self.open_ticket_id = sender.open_ticket_id

    async def customer_id_of(self, telegram_user_id: int) -> int | None:
        """The id of the customer linked to a Telegram account: the sender's as already
        looked up, anyone else's from the database."""
        if self._customer_known and telegram_user_id == self._user_id:
            return self._customer.id if self._customer is not None else None
        customer = await self.services.customers.by_telegram(telegram_user_id, uow=self.work)
        return customer.id if customer is not None else None

    def language(self, telegram_language_code: str | None = None) -> str:
        """The reader's language: chosen with /language, else Telegram's, else the default."""
        chosen = (self.user_data or {}).get("language") if self._user_id else None
        if chosen in LANGUAGES:
            return chosen
        code = (telegram_language_code or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
        return self.services.settings.default_language
