"""Vouchers: codes worth money off one order, issued per campaign or customer, redeemed by
an order that carries the code, and the report of what they brought.
"""

from care.vouchers.codes import ALPHABET, new_code, normalise_code
from care.vouchers.service import (
    REFUSAL_TEXT,
    Check,
    Refusal,
    VoucherProblem,
    VoucherRefused,
    VoucherReport,
    Vouchers,
    VoucherView,
    count_redeemed,
    describe,
)

__all__ = [
    "ALPHABET",
    "REFUSAL_TEXT",
    "Check",
    "Refusal",
    "VoucherProblem",
    "VoucherRefused",
    "VoucherReport",
    "VoucherView",
    "Vouchers",
    "count_redeemed",
    "describe",
    "new_code",
    "normalise_code",
]
