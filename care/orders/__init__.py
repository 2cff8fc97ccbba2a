"""Orders and inquiries: what a customer bought, asked about and when it was delivered;
the product catalogue they refer to."""

from care.orders.catalogue import Catalogue, ProductView
from care.orders.service import OrderDetail, OrderService

__all__ = [
    "Catalogue",
    "OrderDetail",
    "OrderService",
    "ProductView",
]
