"""The CRM schema: one customer database every part of CareBot stands on.

Money is integer VND (BigInteger, never floats). Times are stored in UTC and come back
as aware datetimes whatever the database (see ``UTCDateTime``). Enumerations are plain
strings checked in Python, so adding a value never needs a database migration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from care.core.text import utcnow

COUNTED_ORDERS = "kind = 'order' AND status NOT IN ('cancelled', 'returned')"
"""The SQL condition of an order that counts as a purchase (RFM, LTV, VI alike)."""


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; hand back aware UTC datetimes on every backend.

    SQLite keeps no time zone, PostgreSQL does: without this, comparisons between a
    freshly created value and a loaded one would fail on one backend only.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- vocabularies -----------------------------------------------------------------------


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    ORGANIZATION = "organization"


class OrderKind(StrEnum):
    INQUIRY = "inquiry"
    ORDER = "order"


class OrderStatus(StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    SHIPPING = "shipping"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    # inquiries
    OPEN = "open"
    QUOTED = "quoted"
    CONVERTED = "converted"
    LOST = "lost"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"
    PHONE = "phone"
    STORE = "store"
    WEBHOOK = "webhook"  # an integrator's URL (outgoing webhooks), never a customer


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class StaffRole(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"


class ComplaintCategory(StrEnum):
    PRODUCT_QUALITY = "product_quality"
    DELIVERY = "delivery"
    BILLING = "billing"
    STAFF_ATTITUDE = "staff_attitude"
    WARRANTY = "warranty"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher; next_attempt_at is the lease's end
    UNCERTAIN = "uncertain"  # the dispatcher died mid-send: never resent, shown to staff
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class MessageCategory(StrEnum):
    """What rules a message the system sends on its own must pass."""

    TRANSACTIONAL = "transactional"  # thanks, surveys, ticket updates: no consent needed
    GREETING = "greeting"  # birthdays, holidays: consent, exempt from the frequency cap
    MARKETING = "marketing"  # promotions, newsletters, win-back: consent and cap


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


# --- customers ------------------------------------------------------------------------------


class Customer(Timestamped, Base):
    """A person or an organization the shop serves, with everything learned about them."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=CustomerKind.INDIVIDUAL)
    name: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    # Birthday for individuals, founding day for organizations.
    birthday: Mapped[date | None] = mapped_column(Date)
    occupation: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)  # household or company size
    purchase_habits: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    consent_telegram: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    email_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="import")
    erased_at: Mapped[datetime | None]

    orders: Mapped[list[Order]] = relationship(back_populates="customer")
    metrics: Mapped[CustomerMetrics | None] = relationship(back_populates="customer")


class CustomerMetrics(Base):
    """The latest segmentation of one customer: RFM, tier, lifetime value, CLV."""

    __tablename__ = "customer_metrics"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary: Mapped[int] = mapped_column(BigInteger, default=0)
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(30), index=True)
    tier: Mapped[str | None] = mapped_column(String(30), index=True)
    historical_ltv: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_purchases_12m: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    clv_12m: Mapped[int | None] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="metrics")


class ClassificationChange(Base):
    """A customer's tier or segment changed: upgrades, downgrades, slipping to at-risk."""

    __tablename__ = "classification_changes"
    __table_args__ = (Index("ix_classification_changes_customer", "customer_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(10))  # "tier" or "segment"
    old_value: Mapped[str | None] = mapped_column(String(30))
    new_value: Mapped[str | None] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    as_of: Mapped[date] = mapped_column(Date)


class SegmentationRun(Base):
    """One full segmentation run: its day, its size, how long it took, the CLV models it fitted.

    Re-classifying one customer after a new order predicts their CLV with the models of
    the latest run, read from here, so they survive a restart of the process.
    """

    __tablename__ = "segmentation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(Integer)
    buyers: Mapped[int] = mapped_column(Integer)
    tier_changes: Mapped[int] = mapped_column(Integer, default=0)
    segment_changes: Mapped[int] = mapped_column(Integer, default=0)
    time_unit: Mapped[str] = mapped_column(String(10))  # of BG/NBD's alpha and horizons
    bgnbd_r: Mapped[float | None] = mapped_column(Float)
    bgnbd_alpha: Mapped[float | None] = mapped_column(Float)
    bgnbd_a: Mapped[float | None] = mapped_column(Float)
    bgnbd_b: Mapped[float | None] = mapped_column(Float)
    bgnbd_log_likelihood: Mapped[float | None] = mapped_column(Float)
    bgnbd_customers: Mapped[int | None] = mapped_column(Integer)
    bgnbd_problem: Mapped[str | None] = mapped_column(Text)  # why there is no fit
    gamma_gamma_p: Mapped[float | None] = mapped_column(Float)
    gamma_gamma_q: Mapped[float | None] = mapped_column(Float)
    gamma_gamma_gamma: Mapped[float | None] = mapped_column(Float)
    gamma_gamma_log_likelihood: Mapped[float | None] = mapped_column(Float)
    gamma_gamma_customers: Mapped[int | None] = mapped_column(Integer)
    gamma_gamma_problem: Mapped[str | None] = mapped_column(Text)


# --- products and orders ----------------------------------------------------------------------


class Product(Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The day the shop added it to its range (the newsletter's "new this month"), and
    # whether the shop puts it forward (the newsletter's "featured").
    added_on: Mapped[date | None] = mapped_column(Date, index=True)
    featured: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Order(Timestamped, Base):
    """An order, or an inquiry that may become one (kind tells which)."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_placed", "customer_id", "placed_at"),
        # The purchases of each customer in time order with what a segmentation run sums,
        # so the run reads this index alone, already grouped by customer, and never sorts.
        Index(
            "ix_orders_counted",
            "customer_id",
            "placed_at",
            "amount",
            "margin",
            sqlite_where=text(COUNTED_ORDERS),
            postgresql_where=text(COUNTED_ORDERS),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(20), default=OrderKind.ORDER)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.NEW)
    placed_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    delivery_date: Mapped[date | None] = mapped_column(Date)  # promised delivery day
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    margin: Mapped[int] = mapped_column(BigInteger, default=0)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[int] = mapped_column(BigInteger, default=0)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


# --- conversations with customers ---------------------------------------------------------------


class Interaction(Base):
    """Every message in or out: each one is a chance to learn about the customer.

    ``internal`` marks what staff say and are shown (the staff chat, staff commands): it
    may concern a customer (``customer_id``) but is never part of anyone's own record,
    not even of a staff member who is a customer too. ``message_id`` is the message's
    number in its chat, so an erasure can find, and have the bot edit, what it posted.
    """

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_created", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.TELEGRAM)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20), default="message")
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqEntry(Timestamped, Base):
    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    category: Mapped[str | None] = mapped_column(String(50))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)

    alternates: Mapped[list[FaqAlternate]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="FaqAlternate.id"
    )


class FaqAlternate(Base):
    """Another way customers ask the same question."""

    __tablename__ = "faq_alternates"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)

    entry: Mapped[FaqEntry] = relationship(back_populates="alternates")


class UnansweredQuestion(Base):
    """A question the FAQ could not answer: unmet demand, and the next FAQ entry."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    text: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_by_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="SET NULL")
    )


class LinkCode(Base):
    """A one-time code e-mailed to link a Telegram account to a customer record."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- staff, complaints, surveys ----------------------------------------------------------------


class Staff(Timestamped, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=StaffRole.AGENT)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Complaint(Timestamped, Base):
    """A ticket: a complaint with its deadlines, owner and outcome."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(20), default=Severity.MEDIUM)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.OPEN, index=True)
    tier: Mapped[str | None] = mapped_column(String(30))  # the customer's tier when filed
    first_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    reopened_at: Mapped[datetime | None]
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    first_response_breach_at: Mapped[datetime | None]
    resolution_breach_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    order: Mapped[Order | None] = relationship()
    claimed_by: Mapped[Staff | None] = relationship(foreign_keys=[claimed_by_id])
    messages: Mapped[list[ComplaintMessage]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintMessage.id"
    )


class ComplaintMessage(Base):
    """One exchange on a ticket, and where it stands in the staff chat."""

    __tablename__ = "complaint_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(20))  # customer, staff or system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    staff_chat_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="messages")


class Survey(Base):
    """A satisfaction check: CSAT, the five SERVQUAL dimensions, NPS and a comment."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # complaint or delivery
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(20), default="sent")
    csat: Mapped[int | None] = mapped_column(Integer)
    reliability: Mapped[int | None] = mapped_column(Integer)
    assurance: Mapped[int | None] = mapped_column(Integer)
    tangibles: Mapped[int | None] = mapped_column(Integer)
    empathy: Mapped[int | None] = mapped_column(Integer)
    responsiveness: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class PolicyGrant(Base):
    """A care policy (discount, gift, free service...) the customer has received."""

    __tablename__ = "policy_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    policy: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompetitorCampaign(Base):
    """A competitor's campaign in a region: the observation window of the Vulnerability Index."""

    __tablename__ = "competitor_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    competitor: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the care programme -------------------------------------------------------------------


class Campaign(Timestamped, Base):
    """A promotion, newsletter or other mailing to an audience, on a schedule."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="promotion")
    category: Mapped[str] = mapped_column(String(20), default=MessageCategory.MARKETING)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel_preference: Mapped[str] = mapped_column(String(20), default="telegram")
    subject: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per language
    template: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per language
    offers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per tier
    scheduled_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    summary_sent_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message the system decided to send, written in the same transaction as its cause.

    The idempotency key (``thanks:ORDER``, ``birthday:CUSTOMER:2026``) makes deciding
    twice harmless; the dispatcher sends each row once and records the outcome.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The dispatcher's query: due rows of a channel, oldest first, read in index order.
        Index("ix_outbox_due", "status", "channel", "next_attempt_at", "id"),
        Index("ix_outbox_customer_created", "customer_id", "created_at"),
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20), default=MessageCategory.TRANSACTIONAL)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))  # chat id or e-mail address
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mime: Mapped[bytes | None] = mapped_column(LargeBinary)  # an e-mail's bytes, as sent
    # Set: the row replaces the text of this message of the bot's in ``recipient``'s chat
    # (a ticket card after an erasure) instead of sending a new one.
    edits_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    skip_reason: Mapped[str | None] = mapped_column(String(50))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Which dispatcher's send journal covers this row while it is ``sending``.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


# --- bot state ----------------------------------------------------------------------------


class BotState(Base):
    """Conversation, user and chat data of the bot, so a restart loses no conversation."""

    __tablename__ = "bot_state"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_bot_state_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # conversation:NAME, user, chat, callback
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoredSecret(Base):
    """A secret CareBot generated for itself because none was configured: the signing key
    (CAREBOT_SECRET_KEY unset) or the webhook's secret token. Written once, never rotated
    here; see ``care.core.keys``."""

    __tablename__ = "stored_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the HTTP API for the shop's systems -------------------------------------------------


class ApiKey(Base):
    """A key a shop's system (sales, ERP, web shop) calls the API with.

    Only a hash of the key is stored; the key itself is shown once, when it is made.
    ``prefix`` is the key's public start, to find its row without scanning every hash.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiIdempotency(Base):
    """The first response to a request sent with an ``Idempotency-Key``, kept 24 hours so
    a retried request gets that response again instead of acting twice."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key", name="uq_api_idempotency_api_key_id_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookSubscription(Base):
    """An integrator's URL that is told of events (``ticket.created``...), signed with
    its own secret (HMAC-SHA256)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One attempt to deliver an event to a subscription: the delivery log."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="SET NULL"), index=True
    )
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    milliseconds: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- FAQ learning -------------------------------------------------------------------------


class FaqConfirmation(Base):
    """A customer asked in their own words, was offered suggestions and tapped this entry.

    Disputed when the same customer asked again soon after: the entry did not settle it.
    Once enough different customers confirmed the same wording (folded), it becomes an
    alternate of the entry (``alternate_id``). ``asker`` is a keyed hash of the Telegram
    account, enough to count different customers and nothing more.
    """

    __tablename__ = "faq_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(5))
    text: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)
    asker: Mapped[str] = mapped_column(String(64), index=True)
    tapped_at: Mapped[datetime] = mapped_column(default=utcnow)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    alternate_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_alternates.id", ondelete="SET NULL")
    )


def faq_asker_key(telegram_user_id: int) -> str:
    """``FaqConfirmation.asker`` for a Telegram account (erasure finds its rows by it)."""
    import hashlib  # here, to keep this block of the models self-contained

    return hashlib.blake2b(
        str(telegram_user_id).encode(), digest_size=16, person=b"carebot-faq"
    ).hexdigest()


class FaqLearnedAlternate(Base):
    """How an alternate was learned: from customers' confirmations or a staff approval."""

    __tablename__ = "faq_learned_alternates"

    alternate_id: Mapped[int] = mapped_column(
        ForeignKey("faq_alternates.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(20))  # customers | staff
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the web console -------------------------------------------------------------------------


# The console's customer list is ordered by name, its name index catches up by updated_at,
# and staff type codes and e-mail addresses in any case.
Index("ix_customers_name", Customer.name)
Index("ix_customers_updated_at", Customer.updated_at)
Index("ix_customers_code_upper", func.upper(Customer.code))
Index("ix_customers_email_lower", func.lower(Customer.email))


class ConsoleLoginLink(Base):
    """A one-time link that signs a staff member in to the web console (15 minutes, single
    use). Only a hash of its token is kept: the database alone cannot sign anyone in."""

    __tablename__ = "console_login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser: its cookie carries the token whose hash is kept here. It ends at
    logout, after the idle limit, or at once when its staff member is removed."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One change made in the console: who, what, on which record, when."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    staff_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- contacts, vouchers and measured care --------------------------------------------------


class ContactKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    MESSAGE = "message"
    NOTE = "note"  # what staff learned, without saying how


class ContactStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class Contact(Base):
    """A contact with a customer outside the bot: a call, a visit, a meeting, a message.

    Planned contacts (``due_at``) are the care schedule: follow-ups, the weekly plan by
    tier, the call to a top customer who slips. Done ones (``done_at``) are the record.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_customer_due", "customer_id", "status", "due_at"),
        Index("ix_contacts_staff_due", "staff_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(20), default=ContactKind.CALL)
    status: Mapped[str] = mapped_column(String(20), default=ContactStatus.DONE)
    due_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(30), default="manual")  # schedule, slipping...
    source: Mapped[str] = mapped_column(String(20), default="cli")  # cli, chat, console, system
    follow_up_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[Staff | None] = relationship()


class AccountManager(Base):
    """The staff member who looks after a customer: their planned contacts go to them."""

    __tablename__ = "account_managers"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherKind(StrEnum):
    AMOUNT = "amount"  # VND off the order
    PERCENT = "percent"  # per cent off the order


class Voucher(Base):
    """A code worth money off an order: issued per campaign or per customer, redeemed once."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default=VoucherKind.AMOUNT)
    value: Mapped[int] = mapped_column(BigInteger)  # VND, or a percentage
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    tiers: Mapped[list[Any]] = mapped_column(default=list)  # empty: any tier
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issued_for: Mapped[str | None] = mapped_column(String(100))  # birthday:2026, a campaign...
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    redeemed_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), unique=True
    )
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class CareAssignment(Base):
    """Who a campaign or an automatic programme reached, and who it held out on purpose.

    The held-out share is not contacted; comparing the two groups' orders afterwards is
    what the campaign brought. ``key`` is unique per decision (a campaign and a customer,
    or a programme, a customer and its period).
    """

    __tablename__ = "care_assignments"
    __table_args__ = (
        UniqueConstraint("key", name="uq_care_assignments_key"),
        Index("ix_care_assignments_programme", "programme", "assigned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    programme: Mapped[str] = mapped_column(String(60))  # campaign, win_back, birthday...
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClvWatch(Base):
    """The predicted CLV a top-tier customer had when last looked at, so a fall shows."""

    __tablename__ = "clv_watch"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    clv_12m: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
