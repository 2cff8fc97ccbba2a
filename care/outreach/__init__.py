"""Messages the system sends on its own: the outbox and its rules (consent, quiet hours,
frequency caps), campaigns, the care programme (thanks, greetings, newsletters, surveys),
e-mail building, and what waits to be sent (waiting.py).
"""

from care.outreach.campaigns import SKIP_CANCELLED, CampaignError, CampaignProgress, CampaignSpec
from care.outreach.email_message import eml_file_name, message_id, sender
from care.outreach.outbox import (
    OPEN_STATUSES,
    Delivered,
    Message,
    Outbox,
    OutboxRow,
    Outcome,
    RetryLater,
    Undeliverable,
    check_chat_html,
    email_wire,
    enqueue_rows,
    retry_delay,
)
from care.outreach.programme import CareProgramme, survey_callback
from care.outreach.rules import (
    SKIP_ERASED,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    SKIP_TELEGRAM_BLOCKED,
    SKIP_UNREACHABLE,
    Hold,
    Skip,
    channel_usable,
    hold_at_send,
    quiet_until,
    sendable_now,
)
from care.outreach.unsubscribe import UnsubscribeLinks
from care.outreach.waiting import (
    OutboxBacklog,
    ScheduledCampaign,
    campaign_due,
    outbox_backlog,
    scheduled_campaigns,
)

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
    "Hold",
    "Message",
    "Outbox",
    "OutboxBacklog",
    "OutboxRow",
    "Outcome",
    "RetryLater",
    "ScheduledCampaign",
    "Skip",
    "Undeliverable",
    "UnsubscribeLinks",
    "campaign_due",
    "channel_usable",
    "check_chat_html",
    "email_wire",
    "eml_file_name",
    "enqueue_rows",
    "hold_at_send",
    "message_id",
    "outbox_backlog",
    "quiet_until",
    "retry_delay",
    "scheduled_campaigns",
    "sendable_now",
    "sender",
    "survey_callback",
]
