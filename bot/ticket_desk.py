"""Ticket work done outside Telegram (the web console), delivered the way the staff chat
delivers it: the same care service records it, the same relay tells the customer, and the
staff chat sees it under the ticket's card, so the team chat and the console never disagree.

The web app reaches it through the Application (``bot_data["ticket_desk"]``), never by
importing the bot.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.context import CareContext
from bot.handlers.complaints import post_under_card, refresh_card, tell_customer
from bot.handlers.surveys import csat_markup
from care.tickets import StaffAction


class TicketDesk:
    """Claim, reply, resolve and reopen on behalf of a signed-in staff member."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.application = application

    def _context(self) -> CareContext:
        return CareContext(self.application)

    async def claim(self, ticket_id: int, staff_telegram_id: int, name: str) -> StaffAction:
        context = self._context()
        action = await context.services.complaints.claim(ticket_id, staff_telegram_id)
        if action.ok and action.ticket is not None:
            await refresh_card(context, action.ticket)
            await tell_customer(
                context,
                action.ticket,
                "ticket_claimed_customer",
                name=name,
                code=action.ticket.code,
            )
        return action

    async def reply(
        self, ticket_id: int, staff_telegram_id: int, name: str, text: str
    ) -> StaffAction:
        """The answer goes under the ticket's card in the staff chat (so the team sees it
        there too), is recorded on the ticket, and reaches the customer by the relay."""
        context = self._context()
        services = context.services
        ticket = await services.complaints.ticket(ticket_id)
        posted = None
        if ticket is not None and ticket.is_open:
            posted = await post_under_card(
                context, ticket, "ticket_console_reply", name=name, code=ticket.code, text=text
            )
        action = await services.complaints.staff_reply(
            ticket_id,
            staff_telegram_id,
            text,
            posted.message_id if posted is not None else None,
        )
        if action.ok and action.ticket is not None:
            await tell_customer(
                context,
                action.ticket,
                "ticket_staff_reply_customer",
                name=name,
                shop=services.settings.shop_name,
                code=action.ticket.code,
                text=text,
            )
        return action

    async def resolve(
        self, ticket_id: int, staff_telegram_id: int, name: str, note: str
    ) -> StaffAction:
        context = self._context()
        action = await context.services.complaints.resolve(ticket_id, staff_telegram_id, note)
        if action.ok and action.ticket is not None and action.survey_id is not None:
            ticket = action.ticket
            await refresh_card(context, ticket)
            await tell_customer(
                context,
                ticket,
                "ticket_resolved_customer",
                markup=csat_markup(action.survey_id),
                code=ticket.code,
                note=ticket.resolution,
                name=name,
            )
            await post_under_card(
                context, ticket, "ticket_resolved_staff", code=ticket.code, name=name
            )
        return action

    async def reopen(
        self, ticket_id: int, staff_telegram_id: int, name: str, note: str
    ) -> StaffAction:
        context = self._context()
        action = await context.services.complaints.reopen(ticket_id, staff_telegram_id, note)
        if action.ok and action.ticket is not None:
            await refresh_card(context, action.ticket)
            await post_under_card(
                context,
                action.ticket,
                "ticket_console_reopened",
                name=name,
                code=action.ticket.code,
                text=note,
            )
        return action
