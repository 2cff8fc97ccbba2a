"""Messages the system sends on its own: the outbox and its rules (consent, quiet hours,
frequency caps), campaigns, the care programme (thanks, greetings, newsletters, surveys) and
e-mail building.
"""

from care.outreach.campaigns import SKIP_CANCELLED, CampaignError, CampaignProgress, CampaignSpec
from care.outreach.email_message import eml_file_name, message_id, sender
from care.outreach.outbox import (
    OPEN_STATUSES,
    SKIP_ERASED,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    SKIP_TELEGRAM_BLOCKED,
    SKIP_UNREACHABLE,
    Delivered,
    Message,
    Outbox,
    OutboxRow,
    Outcome,
    RetryLater,
    Skip,
    Undeliverable,
    channel_usable,
    check_chat_html,
    email_wire,
    enqueue_rows,
    quiet_until,
    retry_delay,
)
from care.outreach.programme import CareProgramme, survey_callback
from care.outreach.unsubscribe import UnsubscribeLinks

__all__ = [
    "OPEN_STATUSES",
    "SKIP_CANCELLED",
    "SKIP_ERASED",
    "SKIP_NO_CONSENT",
    "SKIP_OPTED_OUT",
    "SKIP_TELEGRAM_BLOCKED",
    "SKIP_UNREACHABLE",
    "CampaignError",
    "CampaignProgress",
    "CampaignSpec",
    "CareProgramme",
    "Delivered",
    "Message",
    "Outbox",
    "OutboxRow",
    "Outcome",
    "RetryLater",
    "Skip",
    "Undeliverable",
    "UnsubscribeLinks",
    "channel_usable",
    "check_chat_html",
    "email_wire",
    "eml_file_name",
    "enqueue_rows",
    "message_id",
    "quiet_until",
    "retry_delay",
    "sender",
    "survey_callback",
]
