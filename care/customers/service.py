"""Customers serving themselves: linking a Telegram account, their profile, consent, privacy.

One service, ``CustomerService``, made of its three parts, each in a module of its own:
``profile`` (who is behind an account, what they and the staff keep up to date), ``linking``
(tying an account to a record) and ``privacy`` (export and erasure). Nothing here knows
Telegram: callers pass the Telegram user id as a plain number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select

from care.core.db import Database
from care.core.models import Customer
from care.core.queries import latest_open_ticket
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import utcnow
from care.customers.linking import Linking
from care.customers.privacy import Privacy
from care.customers.profile import CustomerView, Profile
from care.outreach import Outbox


class CustomerService(Profile, Linking, Privacy):
    """Linking, registration and the customer's own view and control of their data: one
    service for the bot and the console, its parts in profile.py, linking.py, privacy.py."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        outbox: Outbox,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.clock = clock
        self.outbox = outbox
        # Built once: the bot runs it for every update, and building it costs more than
        # running it.
        self._sender_query = select(
            *(getattr(Customer, name) for name in CustomerView.__dataclass_fields__),
            latest_open_ticket(Customer.id),
        ).where(
            Customer.telegram_user_id == bindparam("telegram_user_id"),
            Customer.erased_at.is_(None),
        )
