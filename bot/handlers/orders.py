"""Order inquiries: /orders, /order CODE, a typed order code, and the detail buttons.

Someone else's order answers exactly like an order that does not exist: the same
template with the same values, because the service never returns another's order.
"""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import CareContext
from bot.handlers.common import answer_callback, inline_grid, label, language, reply
from bot.handlers.linking import ask_to_link
from care.core.settings import Settings
from care.core.text import clean
from care.customers import CustomerView
from care.orders import OrderDetail


class OrderCodeFilter(filters.MessageFilter):
    """A text message that is nothing but an order code in the shop's shape."""

    def __init__(self, pattern: str) -> None:
        super().__init__(name="OrderCode")
        self.pattern = re.compile(pattern, re.IGNORECASE)

    def filter(self, message: Message) -> bool:
        return bool(message.text and self.pattern.match(clean(message.text)))


def _status(update: Update, context: CareContext, status: str) -> str:
    unknown = label(update, context, "orders.status.unknown", status=status)
    lang = language(update, context)
    return context.services.renderer.label_or(lang, f"orders.status.{status}", unknown)


async def _customer(update: Update, context: CareContext) -> CustomerView | None:
    """The linked customer, or None after asking the user to link first."""
    customer = context.customer
    if customer is None:
        await ask_to_link(update, context)
    return customer


async def list_orders(update: Update, context: CareContext) -> None:
    customer = await _customer(update, context)
    if customer is None:
        return
    if update.callback_query is not None:
        await answer_callback(update, context)
    orders = await context.services.orders.recent(customer.id, uow=context.work)
    if not orders:
        await reply(update, context, "orders_none")
        return
    rows = [
        {
            "code": o.code,
            "placed_at": o.placed_at,
            "amount": o.amount,
            "status_text": _status(update, context, o.status),
        }
        for o in orders
    ]
    buttons = [
        (label(update, context, "orders.details_button", code=o.code), f"order:{o.code}")
        for o in orders
    ]
    await reply(update, context, "orders_list", markup=inline_grid(buttons), orders=rows)


async def show_order(update: Update, context: CareContext, code: str) -> None:
    """One order of the linked customer; unknown and not-theirs answer the same."""
    customer = await _customer(update, context)
    if customer is None:
        return
    if update.callback_query is not None:
        await answer_callback(update, context)
    code = clean(code)
    order: OrderDetail | None = await context.services.orders.by_code(
        customer.id, code, uow=context.work
    )
    if order is None:
        await reply(update, context, "orders_not_found")
        return
    status_text = _status(update, context, order.status)
    await reply(update, context, "orders_detail", o=order, status_text=status_text)


async def order_command(update: Update, context: CareContext) -> None:
    code = " ".join(context.args or [])
    if not code.strip():
        await reply(update, context, "orders_usage")
        return
    await show_order(update, context, code)


async def order_typed(update: Update, context: CareContext) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await show_order(update, context, message.text)


async def order_button(update: Update, context: CareContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await show_order(update, context, query.data.split(":", 1)[1])


def handlers(settings: Settings) -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    typed_code = (
        filters.TEXT & ~filters.COMMAND & private & OrderCodeFilter(settings.order_code_pattern)
    )
    return [
        CommandHandler("orders", list_orders, filters=private),
        CommandHandler("order", order_command, filters=private),
        CallbackQueryHandler(list_orders, pattern=r"^menu:orders$"),
        CallbackQueryHandler(order_button, pattern=r"^order:"),
        # Before the FAQ: a message that is only an order code asks for that order.
        MessageHandler(typed_code, order_typed),
    ]
