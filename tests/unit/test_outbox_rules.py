"""The rules every message passes before it is queued: consent, reachability, the frequency
cap and quiet hours; and the outbox's content checks and unsubscribe tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.core.models import Customer, MessageCategory
from care.core.rendering import TemplateProblem
from care.core.settings import Settings
from care.outreach.outbox import (
    chat_to_email,
    check_chat_html,
)
from care.outreach.rules import (
    SKIP_ERASED,
    SKIP_FREQUENCY_CAP,
    SKIP_NO_CONSENT,
    SKIP_NO_CONTACT,
    SKIP_NO_TELEGRAM,
    SKIP_UNREACHABLE,
    Route,
    Skip,
    choose_route,
    quiet_until,
)

MARKETING, GREETING, TRANSACTIONAL = (
    MessageCategory.MARKETING,
    MessageCategory.GREETING,
    MessageCategory.TRANSACTIONAL,
)
NOON = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 12:00 in Ho Chi Minh City (UTC+7)


def customer(**fields: object) -> Customer:
    values: dict[str, object] = {
        "id": 1,
        "code": "KH1",
        "name": "Lan",
        "telegram_user_id": 1001,
        "email": "lan@example.com",
        "consent_telegram": True,
        "consent_email": True,
        "telegram_unreachable": False,
        "email_unreachable": False,
        "erased_at": None,
    }
    values.update(fields)
    return Customer(**values)


def route(settings: Settings, who: Customer, category: str, **kwargs: object) -> Route | Skip:
    kwargs.setdefault("now", NOON)
    return choose_route(who, category, settings=settings, **kwargs)  # type: ignore[arg-type]


# --- consent and channels ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "category", "preference", "expected"),
    [
        ({}, MARKETING, "telegram", "telegram"),
        ({"consent_telegram": False}, MARKETING, "telegram", "email"),
        (
            {"consent_telegram": False, "consent_email": False},
            MARKETING,
            "telegram",
            SKIP_NO_CONSENT,
        ),
        (
            {"consent_telegram": False, "consent_email": False},
            GREETING,
            "telegram",
            SKIP_NO_CONSENT,
        ),
        (
            {"consent_telegram": False, "consent_email": False},
            TRANSACTIONAL,
            "telegram",
            "telegram",
        ),
        ({"telegram_unreachable": True}, MARKETING, "telegram", "email"),
        (
            {"telegram_unreachable": True, "email_unreachable": True},
            TRANSACTIONAL,
            "telegram",
            SKIP_UNREACHABLE,
        ),
        ({"telegram_user_id": None, "email": None}, TRANSACTIONAL, "telegram", SKIP_NO_CONTACT),
        ({}, MARKETING, "email", "email"),
        ({"consent_email": False}, MARKETING, "email_only", SKIP_NO_CONSENT),
        ({"telegram_user_id": None}, TRANSACTIONAL, "telegram_only", SKIP_NO_TELEGRAM),
        ({"erased_at": NOON}, TRANSACTIONAL, "telegram", SKIP_ERASED),
    ],
)
def test_channel_and_consent(
    settings: Settings, fields: dict, category: str, preference: str, expected: str
) -> None:
    result = route(settings, customer(**fields), category, preference=preference)
    if isinstance(result, Skip):
        assert result.reason == expected
    else:
        assert result.channel == expected
        assert result.recipient == ("1001" if expected == "telegram" else "lan@example.com")


# --- frequency cap -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "recent", "skipped"),
    [
        (MARKETING, 0, False),
        (MARKETING, 1, False),
        (MARKETING, 2, True),  # the default cap: 2 in 7 days
        (GREETING, 5, False),  # greetings are exempt
        (TRANSACTIONAL, 5, False),
    ],
)
def test_frequency_cap(settings: Settings, category: str, recent: int, skipped: bool) -> None:
    result = route(settings, customer(), category, recent_marketing=recent)
    assert isinstance(result, Skip) == skipped
    if skipped:
        assert result == Skip(SKIP_FREQUENCY_CAP)


# --- quiet hours -----------------------------------------------------------------------------


def local(hour: int, minute: int = 0, day: int = 23) -> datetime:
    """A Ho Chi Minh City wall-clock time on November ``day``, 2026, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (local(12), None),
        (local(20, 59), None),
        (local(21, 0), local(8, 0, day=24)),
        (local(23, 30), local(8, 0, day=24)),
        (local(3, 0), local(8, 0)),
        (local(7, 59), local(8, 0)),
        (local(8, 0), None),
    ],
)
def test_quiet_hours_wait_for_the_morning(settings: Settings, now: datetime, until: object) -> None:
    assert quiet_until(now, settings) == until


def test_marketing_at_night_is_queued_for_eight_in_the_morning(settings: Settings) -> None:
    result = route(settings, customer(), MARKETING, now=local(22, 15))
    assert isinstance(result, Route)
    assert result.not_before == local(8, 0, day=24)


def test_transactional_messages_ignore_quiet_hours_unless_asked(settings: Settings) -> None:
    night = local(22, 15)
    plain = route(settings, customer(), TRANSACTIONAL, now=night)
    careful = route(settings, customer(), TRANSACTIONAL, now=night, quiet=True)
    assert isinstance(plain, Route) and plain.not_before == night
    assert isinstance(careful, Route) and careful.not_before == local(8, 0, day=24)


def test_quiet_hours_inside_one_day(settings: Settings) -> None:
    lunch = settings.model_copy(update={"quiet_hours_start": "12:00", "quiet_hours_end": "13:30"})
    assert quiet_until(local(12, 10), lunch) == local(13, 30)
    assert quiet_until(local(13, 30), lunch) is None


# --- content ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Chào <b>Lan</b> &amp; <i>gia đình</i>",
        'Xem <a href="https://example.com/?a=1&amp;b=2">ưu đãi</a>',
        "<blockquote>Trích</blockquote> <code>X1</code> <tg-spoiler>bí mật</tg-spoiler>",
    ],
)
def test_telegram_html_that_telegram_accepts(body: str) -> None:
    check_chat_html(body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<p>Chào</p>", "does not support"),
        ("Dòng 1<br/>Dòng 2", "does not support"),
        ("<b>Chào", "never closed"),
        ("<b>Chào</i>", "unexpected end tag"),
        ("A & B", "&amp;"),
        ("&nbsp;", "entity"),
        ("   ", "empty"),
        ("x" * 4097, "4097"),
    ],
)
def test_telegram_html_that_telegram_refuses(body: str, problem: str) -> None:
    with pytest.raises(TemplateProblem, match=problem):
        check_chat_html(body)


def test_a_chat_message_becomes_email_html_and_text() -> None:
    html, text = chat_to_email('Chào <b>Lan &amp; Minh</b>\n<a href="https://x.vn">Xem</a>')
    assert str(html) == 'Chào <b>Lan &amp; Minh</b><br>\n<a href="https://x.vn">Xem</a>'
    assert text == "Chào Lan & Minh\nXem (https://x.vn)"


# --- unsubscribing -----------------------------------------------------------------------------
