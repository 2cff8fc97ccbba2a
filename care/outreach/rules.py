"""The rules a message to a customer passes, written once, in two forms.

* When a message is planned (``choose_route``): the customer must not be erased, the
  channel must have an address that is not known to be dead, marketing and greetings need
  the channel's consent (transactional messages need none), marketing is capped per week,
  and a message that is not transactional waits for the end of the quiet hours.
* When a queued message is about to go (``hold_at_send``): the same rules are checked
  again, because a customer may have opted out, been erased or blocked the bot since.
  The dispatcher claims a whole batch in one UPDATE with the SQL form of that check
  (``sendable_now``); tests/integration/test_outbox_rules.py runs both forms over the same
  table of cases so that they cannot drift apart.

Pure functions over a ``Customer`` and the settings: no session, no clock of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, true

from care.core.models import Channel, Customer, MessageCategory, OutboxMessage
from care.core.settings import Settings
from care.core.text import to_local

# Why a message was not sent.
SKIP_ERASED = "erased"
SKIP_NO_CONSENT = "no_consent"
SKIP_UNREACHABLE = "unreachable"
SKIP_NO_CONTACT = "no_contact"
SKIP_NO_TELEGRAM = "no_telegram"
SKIP_FREQUENCY_CAP = "frequency_cap"
SKIP_OPTED_OUT = "opted_out"  # consent withdrawn after the message was queued
SKIP_TELEGRAM_BLOCKED = "telegram_blocked"


# Channel preferences: the first usable channel wins; "_only" forbids the other one.
PREFERENCES = {
    "telegram": (Channel.TELEGRAM, Channel.EMAIL),
    "email": (Channel.EMAIL, Channel.TELEGRAM),
    "telegram_only": (Channel.TELEGRAM,),
    "email_only": (Channel.EMAIL,),
}


@dataclass(frozen=True)
class Route:
    """Where a message goes: the channel, the address on it and the earliest send time."""

    channel: str
    recipient: str
    not_before: datetime


@dataclass(frozen=True)
class Skip:
    reason: str


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, settings: Settings) -> datetime | None:
    """The end of the quiet hours ``now`` falls in (aware UTC), or None outside them.

    The window is local time and may span midnight (21:00-08:00 by default).
    """
    zone = ZoneInfo(settings.timezone)
    local = to_local(now, zone)
    start, end = _clock_time(settings.quiet_hours_start), _clock_time(settings.quiet_hours_end)
    if start == end:
        return None
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)


def _channel_state(customer: Customer, channel: str) -> tuple[object, bool, bool]:
    """The customer's address on ``channel``, whether it is known dead, and the consent."""
    if channel == Channel.TELEGRAM:
        return (
            customer.telegram_user_id,
            bool(customer.telegram_unreachable),
            bool(customer.consent_telegram),
        )
    return customer.email, bool(customer.email_unreachable), bool(customer.consent_email)


def channel_usable(customer: Customer, channel: str, category: str) -> str | None:
    """None if the customer can be written to on this channel, else the reason not."""
    address, unreachable, consent = _channel_state(customer, channel)
    if not address:
        return SKIP_NO_CONTACT
    if unreachable:
        return SKIP_UNREACHABLE
    if category != MessageCategory.TRANSACTIONAL and not consent:
        return SKIP_NO_CONSENT
    return None


def choose_route(
    customer: Customer,
    category: str,
    *,
    now: datetime,
    settings: Settings,
    preference: str = "telegram",
    recent_marketing: int = 0,
    quiet: bool | None = None,
) -> Route | Skip:
    """Apply the rules to one message for one customer; pure, so it is tested as a table.

    ``recent_marketing`` is how many marketing messages the customer got (or has queued)
    within the frequency-cap window. ``quiet`` defaults to "not transactional": a ticket
    update may arrive at night, a promotion may not.
    """
    if customer.erased_at is not None:
        return Skip(SKIP_ERASED)
    channels = PREFERENCES.get(preference)
    if channels is None:
        raise ValueError(f"unknown channel preference {preference!r}")
    reasons = []
    route_channel = None
    for channel in channels:
        reason = channel_usable(customer, channel, category)
        if reason is None:
            route_channel = channel
            break
        reasons.append(reason)
    if route_channel is None:
        if preference == "telegram_only" and reasons == [SKIP_NO_CONTACT]:
            return Skip(SKIP_NO_TELEGRAM)
        for reason in (SKIP_NO_CONSENT, SKIP_UNREACHABLE):
            if reason in reasons:
                return Skip(reason)
        return Skip(SKIP_NO_CONTACT)
    if (
        category == MessageCategory.MARKETING
        and recent_marketing >= settings.frequency_cap_messages
    ):
        return Skip(SKIP_FREQUENCY_CAP)
    respect_quiet = category != MessageCategory.TRANSACTIONAL if quiet is None else quiet
    not_before = (quiet_until(now, settings) if respect_quiet else None) or now
    recipient = (
        str(customer.telegram_user_id) if route_channel == Channel.TELEGRAM else customer.email
    )
    assert recipient is not None
    return Route(route_channel, recipient, not_before)


# --- at sending time ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """Why a queued message must not go now.

    ``skip``: never (``reason``); ``defer``: not before ``until`` (quiet hours);
    ``fallback``: the customer blocked the bot, so the message may go by e-mail instead.
    """

    action: Literal["skip", "defer", "fallback"]
    reason: str | None = None
    until: datetime | None = None


def hold_at_send(
    customer: Customer | None,
    channel: str,
    category: str,
    *,
    now: datetime,
    settings: Settings,
) -> Hold | None:
    """None if a queued message may be sent now, else why not.

    A message without a customer (the staff chat) always goes. The address itself is not
    checked: the row carries the one it was planned with.
    """
    if customer is None:
        return None
    if customer.erased_at is not None:
        return Hold("skip", SKIP_ERASED)
    _address, unreachable, consent = _channel_state(customer, channel)
    if unreachable:
        if channel == Channel.TELEGRAM:
            return Hold("fallback", SKIP_UNREACHABLE)
        return Hold("skip", SKIP_UNREACHABLE)
    if category != MessageCategory.TRANSACTIONAL:
        if not consent:
            return Hold("skip", SKIP_OPTED_OUT)
        morning = quiet_until(now, settings)
        if morning is not None:
            return Hold("defer", until=morning)
    return None


def sendable_now(channel: str, *, now: datetime, settings: Settings) -> ColumnElement[bool]:
    """The SQL form of ``hold_at_send(...) is None`` for outbox rows on ``channel``: the
    condition under which the dispatcher claims a batch in one UPDATE."""
    email = channel == Channel.EMAIL
    consent = Customer.consent_email if email else Customer.consent_telegram
    unreachable = Customer.email_unreachable if email else Customer.telegram_unreachable
    transactional = OutboxMessage.category == MessageCategory.TRANSACTIONAL
    customer_allows = OutboxMessage.customer_id.is_(None) | exists().where(
        Customer.id == OutboxMessage.customer_id,
        Customer.erased_at.is_(None),
        unreachable.is_(False),
        transactional | consent.is_(True),
    )
    not_quiet = transactional if quiet_until(now, settings) else true()
    return and_(customer_allows, not_quiet)
