"""Configuration: environment variables with the prefix CAREBOT_ (and a .env file).

Read once, at the start of a command, and passed down; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Language = Literal["vi", "en"]

MIN_SECRET_KEY_LENGTH = 32
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook's secret_token allows
# Paths the web app serves (or will) besides the webhook, which must not take one of them.
WEB_PATHS = ("/healthz", "/unsubscribe", "/survey", "/console", "/api", "/static")


class Settings(BaseSettings):
    """Everything a shop can configure. Defaults run the demo with nothing set."""

    model_config = SettingsConfigDict(
        env_prefix="CAREBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- the contract of DESIGN.md ---------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///carebot.db"
    database_schema: str | None = None  # PostgreSQL schema to work in (default: public)
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    staff_chat_id: int | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "CareBot <care@example.com>"
    outbox_dir: Path = Path("outbox")
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: Language = "vi"

    # --- the bot ---------------------------------------------------------------------
    telegram_base_file_url: str | None = Field(
        default=None, description="File download base; derived from telegram_base_url if unset"
    )
    # `carebot run --webhook`: Telegram posts updates to this URL (the shop's reverse proxy
    # forwards its path to the web server), with this secret token (when unset, one is
    # generated once and stored: care.core.keys).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    flood_messages_per_minute: int = 20
    max_text_length: int = 2000
    # A request Telegram answered with a 5xx, or the network lost, is made this many times
    # in all, waiting telegram_retry_seconds, then twice as long each time (bot.request).
    telegram_retry_attempts: int = 5
    telegram_retry_seconds: float = 0.5
    shop_name: str = "CareBot Shop"
    public_base_url: str = "http://localhost:8080"

    # --- FAQ self-service ----------------------------------------------------------------
    # Thresholds were chosen on bench/data/faq_dev.yaml (see care/faq/index.py): a best
    # entry from faq_answer_threshold that leads the next by faq_answer_margin is answered.
    faq_answer_threshold: float = 65.0
    faq_suggest_threshold: float = 50.0
    faq_answer_margin: float = 10.0
    # The shop's own synonyms, abbreviations and fillers (same shape as care/faq/lexicon.yaml).
    faq_synonyms_file: Path | None = None
    # A customer's wording becomes an alternate of the entry once this many different
    # customers tapped that entry's suggestion after asking it so, and did not ask again.
    faq_learn_confirmations: int = Field(default=3, ge=1)
    # "Did not ask again": no other question from that customer within these minutes.
    faq_learn_quiet_minutes: int = Field(default=10, ge=0)

    # --- account linking -----------------------------------------------------------------
    link_code_ttl_minutes: int = 15
    link_code_max_attempts: int = 5
    # Code e-mails one customer gets in 24 hours, whichever Telegram accounts ask for them.
    link_code_emails_per_day: int = Field(default=3, ge=1)
    # A message that is only an order code (any case) shows that order: the shop's code shape.
    order_code_pattern: str = r"^[A-Z]{2,4}(?:-[A-Z]{2,4})?-?\d{2,}$"

    # --- complaints: targets in hours by tier, scaled by severity ---------------------------
    sla_first_response_hours: dict[str, float] = {
        "diamond": 0.5,
        "gold": 1.0,
        "silver": 2.0,
        "member": 4.0,
    }
    sla_resolution_hours: dict[str, float] = {
        "diamond": 8.0,
        "gold": 24.0,
        "silver": 48.0,
        "member": 72.0,
    }
    sla_severity_factor: dict[str, float] = {
        "critical": 0.25,
        "high": 0.5,
        "medium": 1.0,
        "low": 1.5,
    }
    conversation_timeout_minutes: int = 15
    # A ticket card Telegram did not take is tried again, waiting longer each time, at most
    # this long between two tries (bot.ticket_cards).
    ticket_card_retry_seconds: float = 30.0
    # The ticket code also waits in the outbox; it is sent this long after filing unless the
    # chat showed it to the customer meanwhile.
    ticket_code_fallback_seconds: float = 120.0

    # --- imports (care.io.imports): what one file may hold before it is refused ------------
    import_max_bytes: int = 50 * 1024 * 1024
    import_max_rows: int = 1_000_000
    import_max_cell: int = 1_000  # characters in one cell

    # --- segmentation, lifetime value, loyalty ---------------------------------------------
    ltv_discount_rate: float = 0.01
    ltv_period: Literal["month", "quarter", "year"] = "month"
    tier_names: list[str] = ["diamond", "gold", "silver", "member"]
    tier_cutoffs: list[float] = [0.80, 0.95, 0.99]
    vi_decline_threshold: float = 0.5
    vi_after_window_days: int = 30
    vi_baseline_days: int = 180
    # The observation set: customers of the region with at least this many orders in the
    # baseline (one-off buyers have no rate to decline from).
    vi_min_orders: int = 2
    # The vulnerable set: a fall in orders this unlikely (Poisson, from the customer's own
    # baseline rate) if their rate had not changed.
    vi_significance: float = 0.05
    # The reading of the competitor's effect (VI over the comparison's, in points):
    # below the first is low, below the second medium, else high.
    vi_reading_thresholds: list[float] = [10.0, 25.0]

    # --- the care programme ----------------------------------------------------------------
    thanks_delay_hours: float = 2.0
    survey_delay_hours: float = 72.0
    greeting_hour: int = 9
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "08:00"
    frequency_cap_messages: int = 2
    frequency_cap_days: int = 7
    holidays_enabled: list[str] = [
        "new_year",
        "tet",
        "womens_day",
        "vietnam_womens_day",
        "mid_autumn",
    ]
    outbox_batch_size: int = 200
    outbox_max_attempts: int = 8
    # Telegram allows about 30; the margin absorbs the network's jitter (bench_campaign.py).
    telegram_messages_per_second: float = 27.5
    segment_nightly_hour: int = 2
    care_lookback_days: int = 3  # older deliveries get no thank-you/survey (imported history)
    winback_segment: str = "at_risk"
    newsletter_day: int = 1  # day of the month the newsletter goes out
    outbox_lease_seconds: float = 300.0  # a claim older than this is from a dead dispatcher
    outbox_retry_base_seconds: float = 30.0  # first retry delay, doubled on each attempt
    outbox_retry_max_seconds: float = 3600.0
    telegram_send_concurrency: int = 8  # most requests in flight (fewer when answers are quick)
    # --- contacts, vouchers, measured care ------------------------------------------------
    # Days between two contacts a customer of a tier should get (the weekly plan); a tier
    # not named gets no planned contact.
    contact_interval_days: dict[str, int] = {"diamond": 30, "gold": 90}
    contact_reminder_minutes: int = 30  # the reminder reaches the staff member this early
    contact_hours: list[int] = [9, 10, 11, 14, 15, 16]  # when the weekly plan books contacts
    contact_plan_weekday: int = 0  # the scheduler plans the week on this day (0 = Monday)
    voucher_valid_days: int = 30
    # The share of the customers each automatic programme picks that it holds out (not
    # contacted, recorded) to measure what it brings, and the days it measures over.
    programme_holdout: dict[str, float] = {"win_back": 0.10, "birthday": 0.10}
    programme_measure_days: int = 30
    # Top customers slipping: a customer of these tiers who moves into these segments, or
    # whose predicted 12-month CLV falls by this share, is an alert to the staff chat.
    slipping_tiers: list[str] = ["diamond", "gold"]
    slipping_segments: list[str] = ["at_risk", "cant_lose"]
    slipping_clv_drop: float = 0.30
    # Care per tier (templates and gifts of each programme); the shipped table when unset.
    tier_care_file: Path | None = None
    # --- the web server and what it signs -----------------------------------------------
    # Where `carebot run` serves its web app (web/): the unsubscribe page, the webhook,
    # /healthz. Loopback: the shop's reverse proxy terminates TLS and forwards. Port 0: any.
    web_listen: str = "127.0.0.1"
    web_port: int = 8080
    # Signs every link and cookie (care.core.keys); when unset, one is generated once and
    # stored in the database. After a rotation the old keys go in secret_key_previous
    # (a JSON list), so links already sent keep working.
    secret_key: SecretStr | None = None
    secret_key_previous: list[SecretStr] = []
    # Only verifies unsubscribe links signed before secret_key existed (care.outreach.unsubscribe).
    unsubscribe_secret: SecretStr | None = None

    # --- the HTTP API for the shop's systems (/api/v1, web/api) -------------------------
    # Requests one API key may make per minute (429 with Retry-After past that), the
    # largest request body taken (413 past that), the most items in one batch request.
    api_requests_per_minute: int = Field(default=600, ge=1)
    api_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    api_batch_max: int = Field(default=1_000, ge=1)
    # How long a response to a request with an Idempotency-Key is replayed to retries.
    api_idempotency_hours: float = 24.0
    # Outgoing webhooks: how long one delivery may take before it is tried again later.
    webhook_timeout_seconds: float = 10.0

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("secret_key", "secret_key_previous")
    @classmethod
    def _long_enough(
        cls, value: SecretStr | list[SecretStr] | None
    ) -> SecretStr | list[SecretStr] | None:
        for key in value if isinstance(value, list) else [value]:
            if key is not None and len(key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    f"a secret key has at least {MIN_SECRET_KEY_LENGTH} characters; make one "
                    "with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("Telegram takes 1-256 characters A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_has_a_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError("the webhook URL is https://your.domain/some/path")
        if url.path.strip("/") == "" or any(
            url.path.rstrip("/") == taken or url.path.startswith(taken + "/") for taken in WEB_PATHS
        ):
            raise ValueError(
                "the webhook URL needs a path of its own, e.g. https://shop.example/telegram"
            )
        return value

    @property
    def file_base_url(self) -> str:
        """Where the Bot API serves files: ``…/file/bot`` beside ``…/bot``."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        base = self.telegram_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    def token(self) -> str:
        """The bot token, or a one-line error naming the variable that is missing."""
        if self.telegram_token is None or not self.telegram_token.get_secret_value().strip():
            raise MissingSetting("CAREBOT_TELEGRAM_TOKEN")
        return self.telegram_token.get_secret_value().strip()


class MissingSetting(RuntimeError):
    """A setting a command needs is not configured."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"{variable} is not set; set it in the environment or in .env")
        self.variable = variable


def async_database_url(url: str) -> str:
    """Accept the usual URL spellings and pick the async driver we ship.

    Shops copy URLs like ``postgresql://…`` or ``sqlite:///x.db`` from their hosting
    panel; both work without them knowing about asyncpg or aiosqlite.
    """
    for prefix, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg2://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url
