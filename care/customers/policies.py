"""Care policies: what a customer has been given, and what to offer next.

The suggested policy depends on two things staff see on the customer card: the value tier
(how much care the customer's value pays for) and the RFM segment (what the relationship
needs now). Both tables are small and deliberate:

===========  ================================================
tier rank    suggestion
===========  ================================================
1 (diamond)  dedicated agent + 10% voucher
2 (gold)     priority support + 5% voucher
3 (silver)   free shipping on the next order
base         loyalty points on the next order
===========  ================================================

Tiers are matched by rank in ``settings.tier_names`` (first, second, third, last), so a
shop that renames its tiers keeps the policies.

============  ================================================
segment       suggestion
============  ================================================
champions     early access to new products + referral bonus
loyal         thank-you gift
potential     bundle offer to grow the basket
new           welcome guide + voucher for the second order
at_risk       win-back voucher
cant_lose     call from a manager + premium win-back voucher
hibernating   reactivation offer
lost          short survey: why they left
============  ================================================

A grant is any policy staff actually gave, known key or free text, with its value in VND
and a note; the card lists them so nobody gives the same gift twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from care.core.db import Database
from care.core.models import Customer, PolicyGrant
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import clean, utcnow

TIER_POLICIES: tuple[tuple[str, ...], ...] = (
    ("dedicated_agent", "voucher_10"),
    ("priority_support", "voucher_5"),
    ("free_shipping",),
    ("loyalty_points",),
)
SEGMENT_POLICIES: dict[str, tuple[str, ...]] = {
    "champions": ("early_access", "referral_bonus"),
    "loyal": ("thank_you_gift",),
    "potential": ("bundle_offer",),
    "new": ("welcome_guide", "second_order_voucher"),
    "at_risk": ("win_back_voucher",),
    "cant_lose": ("manager_call", "premium_win_back_voucher"),
    "hibernating": ("reactivation_offer",),
    "lost": ("exit_survey",),
}
KNOWN_POLICIES = frozenset(
    key for keys in (*TIER_POLICIES, *SEGMENT_POLICIES.values()) for key in keys
) | {"voucher"}  # a voucher code given by a care programme (care per tier)


class PolicyProblem(ValueError):
    """A grant that cannot be recorded; the message can be shown to staff."""


@dataclass(frozen=True)
class Suggestion:
    key: str
    label: str
    because: str  # "tier" or "segment"


@dataclass(frozen=True)
class Grant:
    """A policy given to a customer, ready to show."""

    id: int
    customer_id: int
    customer_code: str  # what staff know a customer by; the id is internal
    policy: str
    label: str
    value: int
    note: str | None
    granted_at: datetime
    granted_by_id: int | None
    complaint_id: int | None


def tier_rank(tier: str | None, tier_names: list[str]) -> int | None:
    """Position of a tier in the policy table: 0, 1, 2 for the top tiers, 3 for the base."""
    if tier is None or tier not in tier_names:
        return None
    index = tier_names.index(tier)
    if index == len(tier_names) - 1:
        return len(TIER_POLICIES) - 1
    return min(index, len(TIER_POLICIES) - 2)


def suggested_keys(
    tier: str | None, segment: str | None, tier_names: list[str]
) -> list[tuple[str, str]]:
    """(policy key, "tier" | "segment") pairs for a tier and segment, without repeats."""
    keys: list[tuple[str, str]] = []
    rank = tier_rank(tier, tier_names)
    if rank is not None:
        keys += [(key, "tier") for key in TIER_POLICIES[rank]]
    keys += [(key, "segment") for key in SEGMENT_POLICIES.get(segment or "", ())]
    unique: dict[str, str] = {}
    for key, because in keys:
        unique.setdefault(key, because)
    return list(unique.items())


class Policies:
    """Suggests policies by tier and segment and records the ones staff grant."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.clock = clock

    def label(self, policy: str, language: str | None = None) -> str:
        """A known policy's name in the reader's language; free text stays as written."""
        if policy not in KNOWN_POLICIES:
            return policy
        return self.renderer.label(language, f"policies.{policy}")

    def suggest(
        self, tier: str | None, segment: str | None, language: str | None = None
    ) -> list[Suggestion]:
        """What to offer a customer of this tier and segment, tier policies first."""
        return [
            Suggestion(key, self.label(key, language), because)
            for key, because in suggested_keys(tier, segment, list(self.settings.tier_names))
        ]

    async def grant(
        self,
        customer_id: int,
        policy: str,
        *,
        value: int = 0,
        note: str | None = None,
        granted_by_id: int | None = None,
        complaint_id: int | None = None,
    ) -> PolicyGrant:
        """Record that the customer received a policy (a gift, voucher, free service...)."""
        policy = clean(policy)
        if not policy:
            raise PolicyProblem("the policy is empty")
        if len(policy) > 100:
            raise PolicyProblem("the policy name is longer than 100 characters")
        if value < 0:
            raise PolicyProblem("the value cannot be negative")
        async with self.db.uow() as uow:
            customer = await uow.session.get(Customer, customer_id)
            if customer is None or customer.erased_at is not None:
                raise PolicyProblem("no such customer")
            grant = PolicyGrant(
                customer_id=customer_id,
                policy=policy,
                value=value,
                note=clean(note) if note else None,
                granted_by_id=granted_by_id,
                complaint_id=complaint_id,
                granted_at=self.clock(),
            )
            uow.session.add(grant)
            await uow.commit()
        return grant

    async def granted(
        self, customer_id: int | None = None, *, language: str | None = None, limit: int = 100
    ) -> list[Grant]:
        """Grants of one customer (or of everyone), newest first."""
        query = (
            select(PolicyGrant, Customer.code)
            .join(Customer, Customer.id == PolicyGrant.customer_id)
            .order_by(PolicyGrant.granted_at.desc(), PolicyGrant.id.desc())
            .limit(limit)
        )
        if customer_id is not None:
            query = query.where(PolicyGrant.customer_id == customer_id)
        async with self.db.uow() as uow:
            rows = list((await uow.session.execute(query)).all())
            uow.session.expunge_all()  # plain values once the session closes
        return [
            Grant(
                id=g.id,
                customer_id=g.customer_id,
                customer_code=code,
                policy=g.policy,
                label=self.label(g.policy, language),
                value=g.value,
                note=g.note,
                granted_at=g.granted_at,
                granted_by_id=g.granted_by_id,
                complaint_id=g.complaint_id,
            )
            for g, code in rows
        ]
