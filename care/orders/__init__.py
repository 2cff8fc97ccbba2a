"""Orders and inquiries: what a customer bought, asked about and when it was delivered."""

from care.orders.service import OrderDetail, OrderService

__all__ = [
    "OrderDetail",
    "OrderService",
]
