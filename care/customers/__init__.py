"""Customers: profile, consent, linking a Telegram account, privacy, the staff's card,
contacts outside the bot.

Offers CustomerService (profile, consent, link codes, export and erasure: see erasure.py
for what an erasure reaches), CustomerCards (the card staff see: value, history, contacts,
policies granted and suggested), Contacts (calls, visits, meetings, notes and the care
schedule by tier), Policies and StaffService (who may work the staff chat), ConsoleAccess
(login links, sessions and the audit log of the web console).
"""

from care.customers.card import CustomerCards, CustomerMatch, CustomerRow
from care.customers.console import AuditRecord, ConsoleAccess, ConsoleUser, SignIn
from care.customers.contacts import (
    MAX_CONTACT_NOTE,
    ContactProblem,
    Contacts,
    ContactView,
    WeeklyPlan,
    split_kind,
    week_start_of,
)
from care.customers.erasure import ERASED_MARK, ERASED_NAME, Erased, mentions_of
from care.customers.habits import Habits, PurchaseHabits
from care.customers.linking import CodeOutcome, CodeRequest, LinkOutcome, LinkResult
from care.customers.policies import Policies, PolicyProblem
from care.customers.profile import (
    CustomerView,
    InvalidInput,
    Sender,
    parse_birthday,
    parse_email,
    parse_name,
)
from care.customers.service import CustomerService
from care.customers.slipping import SlippingAlert, SlippingWatch
from care.customers.staff import StaffError, StaffMember, StaffService

__all__ = [
    "ERASED_MARK",
    "ERASED_NAME",
    "MAX_CONTACT_NOTE",
    "AuditRecord",
    "CodeOutcome",
    "CodeRequest",
    "ConsoleAccess",
    "ConsoleUser",
    "ContactProblem",
    "ContactView",
    "Contacts",
    "CustomerCards",
    "CustomerMatch",
    "CustomerRow",
    "CustomerService",
    "CustomerView",
    "Erased",
    "Habits",
    "InvalidInput",
    "LinkOutcome",
    "LinkResult",
    "Policies",
    "PolicyProblem",
    "PurchaseHabits",
    "Sender",
    "SignIn",
    "SlippingAlert",
    "SlippingWatch",
    "StaffError",
    "StaffMember",
    "StaffService",
    "WeeklyPlan",
    "mentions_of",
    "parse_birthday",
    "parse_email",
    "parse_name",
    "split_kind",
    "week_start_of",
]
