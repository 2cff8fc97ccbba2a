"""Text, money, date, phone and e-mail handling: the one place that normalises and formats.

Everything that compares what a customer typed, or shows money, dates and times,
goes through here so the whole system folds and formats the same way.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# NFD decomposes most Vietnamese letters into base + combining marks, but not đ/Đ,
# which are letters of their own; they are folded explicitly.
_EXTRA_FOLDS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})
_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Fold text for matching: lower case, no diacritics (đ→d), no punctuation, single spaces.

    Customers type with and without diacritics ("giờ mở cửa" / "gio mo cua"), so every
    comparison of free text happens on the folded form.
    """
    text = unicodedata.normalize("NFC", text).lower().translate(_EXTRA_FOLDS)
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _PUNCTUATION.sub(" ", stripped)
    return _SPACES.sub(" ", stripped).strip()


def clean(text: str) -> str:
    """Normalise user text for storage: Unicode NFC and trimmed, diacritics kept."""
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()  # already NFC, no tab or line break, no double space
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


# --- money -----------------------------------------------------------------------------


def format_vnd(amount: int) -> str:
    """Show integer VND the Vietnamese way, ``1.250.000 ₫``, whatever the reader's language.

    Prices are quoted in VND with dots as thousands separators in Vietnam; an English
    reader there expects the same figure, so one format serves both languages.
    """
    value = int(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value):,} ₫".replace(",", ".")


# Words and marks around an amount that say "đồng" and nothing more.
_CURRENCY = re.compile(r"₫|vnđ|vnd|đồng|dong|đ")
# Shorthand multipliers as shops write them: 500k, 500 nghìn, 1.5tr, 1,5 triệu, 2 tỷ.
_UNITS: dict[str, int] = {
    "k": 1_000,
    "nghìn": 1_000,
    "nghin": 1_000,
    "ngàn": 1_000,
    "ngan": 1_000,
    "tr": 1_000_000,
    "triệu": 1_000_000,
    "trieu": 1_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
    "ty": 1_000_000_000,
}
_UNIT_WORDS = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_WITH_UNIT = re.compile(
    rf"(?P<whole>\d+)(?:[.,](?P<fraction>\d+))?(?P<unit>{_UNIT_WORDS})(?P<tail>\d*)"
)
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+|\d+")
_DECIMAL = re.compile(r"\d+(?:[.,]\d+)+")


def parse_vnd(text: str) -> int:
    """Read a whole amount of đồng written the way Vietnamese shops write it.

    - Thousands grouped by dots, commas or spaces, or not at all: "1.250.000",
      "1,250,000", "1 250 000", "1250000", with or without "₫", "đ", "VND", "đồng".
    - A multiplier, whose number may carry a decimal part with either mark:
      "500k" / "500 nghìn" (x 1.000), "1.5tr" / "1,5 triệu" (x 1.000.000), "2 tỷ";
      the spoken form puts the decimals after the unit: "1tr2" is 1.200.000, "2k5" 2.500.
    - Without a multiplier, a dot or comma followed by anything but groups of three
      digits ("2.5", "12,5", "1250000.5") is refused: đồng have no decimals, and reading
      "2.5" as 2.500 or as 2.500.000 would be a guess a thousandfold wrong either way.
      So is "1.250k": 1.250 đồng or 1.250.000? Write "1.250.000" or "1,25tr".

    Raises ValueError with a message fit to show the person who wrote the amount.
    """
    shown = text.strip()
    raw = _CURRENCY.sub("", unicodedata.normalize("NFC", shown).lower())
    raw = _SPACES.sub("", raw)
    if raw.startswith("-"):
        raise ValueError(f"'{shown}' must not be negative")
    if _GROUPED.fullmatch(raw):
        return int(re.sub(r"[.,]", "", raw))
    if _DECIMAL.fullmatch(raw):
        raise ValueError(f"'{shown}' is not a whole number of đồng")
    match = _WITH_UNIT.fullmatch(raw)
    if match is None or (match["fraction"] and match["tail"]):
        raise ValueError(f"'{shown}' is not an amount in đồng")
    if len(match["fraction"] or "") > 2:
        raise ValueError(
            f"'{shown}' is ambiguous: write it in full (1.250.000) or with at most "
            "two decimals (1,25tr)"
        )
    factor: int = _UNITS[match["unit"]]
    fraction = match["fraction"] or match["tail"]
    scale: int = 10 ** len(fraction)
    parts = int(fraction or 0) * factor
    if parts % scale:
        raise ValueError(f"'{shown}' is not a whole number of đồng")
    return int(match["whole"]) * factor + parts // scale


def format_number(value: float, language: str, decimals: int = 1) -> str:
    """A figure such as a mean score: "4,5" for Vietnamese readers, "4.5" for English ones."""
    text = f"{value:,.{decimals}f}"
    if language == "vi":
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def format_percent(share: float, language: str) -> str:
    """A share (0..1) as a whole percentage, "85%", the same in both languages."""
    return f"{format_number(share * 100, language, decimals=0)}%"


# --- dates and times ---------------------------------------------------------------------


def format_date(value: date | datetime | None, tz: str | ZoneInfo | None = None) -> str:
    """dd/mm/yyyy; a datetime is first moved into the configured time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def format_datetime(value: datetime | None, tz: str | ZoneInfo | None = None) -> str:
    """dd/mm/yyyy HH:MM in the configured time zone (stored times are UTC)."""
    if value is None:
        return ""
    local = to_local(value, tz)
    return f"{format_date(local.date())} {local:%H:%M}"


def to_local(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    """Move a stored time (UTC; naive means UTC) into the local zone."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "Asia/Ho_Chi_Minh")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime from a stored value (databases may hand back naive UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC: the form every timestamp is stored in."""
    return datetime.now(UTC)


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def parse_date(text: str) -> date:
    """Read a date a person typed: dd/mm/yyyy first (as shown everywhere), ISO too.

    Raises ValueError with a message fit to show the person.
    """
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (dd/mm/yyyy): {text!r}")


def parse_local_datetime(text: str, tz: str | ZoneInfo | None = None) -> datetime:
    """Read a day and an optional time a person typed ("05/12/2026 14:30", "05/12/2026")
    in the local zone; the result is aware UTC. No time means 09:00.

    Raises ValueError with a message fit to show the person.
    """
    parts = text.strip().split()
    if not parts or len(parts) > 2:
        raise ValueError(f"not a date and time (dd/mm/yyyy HH:MM): {text!r}")
    day = parse_date(parts[0])
    moment = time(9, 0)
    if len(parts) == 2:
        try:
            moment = datetime.strptime(parts[1].replace("h", ":"), "%H:%M").time()
        except ValueError:
            raise ValueError(f"not a time (HH:MM): {parts[1]!r}") from None
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "Asia/Ho_Chi_Minh")
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


_DURATION_UNITS = {
    "vi": {"day": ("ngày", "ngày"), "hour": ("giờ", "giờ"), "minute": ("phút", "phút")},
    "en": {"day": ("day", "days"), "hour": ("hour", "hours"), "minute": ("minute", "minutes")},
}


def format_duration(delta: timedelta, language: str) -> str:
    """A duration as people say it, in their language: "1 giờ 30 phút", "3 days".

    At most the two largest units, rounded down to the minute; under a minute is "0 phút".
    The words are ours, not the locale data's: a CLDR update must not change what
    customers and staff read (it once turned "giờ" into "tiếng").
    """
    words = _DURATION_UNITS["vi" if language == "vi" else "en"]
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute")]
    shown = [(n, unit) for n, unit in parts if n][:2] or [(0, "minute")]
    return " ".join(f"{n} {words[unit][0 if n == 1 else 1]}" for n, unit in shown)


# --- phones ----------------------------------------------------------------------------


def normalise_phone(text: str, region: str = "VN") -> str:
    """E.164 form of a phone number: 0912..., +84 912..., 84-912... all give +84912....

    Raises ValueError when the text is not a possible number.
    """
    raw = text.strip()
    digits = re.sub(r"[^\d+]", "", raw)
    # "84912345678" without the plus is a common way to write a Vietnamese number.
    if region == "VN" and digits.startswith("84") and len(digits) >= 11:
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits or raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {text!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"not a phone number: {text!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Show a stored E.164 number the local way (0912 345 678 for Vietnam)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def phone_spellings(e164: str) -> set[str]:
    """The ways a stored number is written in messages and cards: +84912345678,
    84912345678, 0912 345 678, 0912345678, +84 912 345 678 (for finding every copy)."""
    spellings = {e164, e164.lstrip("+")}
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return spellings
    styles = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    for style in styles:
        written = phonenumbers.format_number(parsed, style)
        spellings |= {written, re.sub(r"[^\d+]", "", written)}
    return spellings


# --- e-mail ----------------------------------------------------------------------------


def normalise_email(text: str) -> str:
    """An e-mail address as it is stored and compared: the domain lower-cased and
    IDNA-normalised, the local part NFC, surrounding spaces gone.

    Only the syntax is checked, never the network (nothing may reach the internet).
    Raises ValueError when the text is not an e-mail address.
    """
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not an e-mail address: {text!r}") from exc
