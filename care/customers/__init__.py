"""Customers: profile, consent, linking a Telegram account, privacy, the staff's card.

Offers CustomerService (profile, consent, link codes, export and erasure: see erasure.py
for what an erasure reaches), CustomerCards
(the card staff see: value, history, policies granted and suggested), Policies and
StaffService (who may work the staff chat), ConsoleAccess (login links, sessions and the
audit log of the web console).
"""

from care.customers.card import CustomerCards, CustomerMatch, CustomerRow
from care.customers.console import AuditRecord, ConsoleAccess, ConsoleUser, SignIn
from care.customers.erasure import ERASED_MARK, ERASED_NAME, Erased, mentions_of
from care.customers.policies import Policies, PolicyProblem
from care.customers.service import (
    CodeOutcome,
    CodeRequest,
    CustomerService,
    CustomerView,
    InvalidInput,
    LinkOutcome,
    LinkResult,
    Sender,
    parse_birthday,
    parse_email,
    parse_name,
)
from care.customers.staff import StaffError, StaffMember, StaffService

__all__ = [
    "ERASED_MARK",
    "ERASED_NAME",
    "AuditRecord",
    "CodeOutcome",
    "CodeRequest",
    "ConsoleAccess",
    "ConsoleUser",
    "CustomerCards",
    "CustomerMatch",
    "CustomerRow",
    "CustomerService",
    "CustomerView",
    "Erased",
    "InvalidInput",
    "LinkOutcome",
    "LinkResult",
    "Policies",
    "PolicyProblem",
    "Sender",
    "SignIn",
    "StaffError",
    "StaffMember",
    "StaffService",
    "mentions_of",
    "parse_birthday",
    "parse_email",
    "parse_name",
]
