"""Customers: profile, consent, linking a Telegram account, privacy, the staff's card.

Offers CustomerService (profile, consent, link codes, export and erasure), CustomerCards
(the card staff see: value, history, policies granted and suggested), Policies and
StaffService (who may work the staff chat).
"""

from care.customers.card import CustomerCards, CustomerMatch
from care.customers.policies import Policies, PolicyProblem, parse_vnd
from care.customers.service import (
    CodeOutcome,
    CodeRequest,
    CustomerService,
    CustomerView,
    InvalidInput,
    LinkOutcome,
    LinkResult,
    normalise_email,
    parse_birthday,
    parse_name,
)
from care.customers.staff import StaffError, StaffMember, StaffService

__all__ = [
    "CodeOutcome",
    "CodeRequest",
    "CustomerCards",
    "CustomerMatch",
    "CustomerService",
    "CustomerView",
    "InvalidInput",
    "LinkOutcome",
    "LinkResult",
    "Policies",
    "PolicyProblem",
    "StaffError",
    "StaffMember",
    "StaffService",
    "normalise_email",
    "parse_birthday",
    "parse_name",
    "parse_vnd",
]
