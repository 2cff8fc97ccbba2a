"""Folding, money, dates and phones: the formats customers and staff see everywhere."""

from datetime import UTC, date, datetime

import pytest

from care.core.text import (
    fold,
    format_date,
    format_datetime,
    format_vnd,
    normalise_phone,
    parse_date,
)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Giờ mở cửa?", "gio mo cua"),
        ("gio mo cua", "gio mo cua"),
        ("ĐỔI TRẢ hàng", "doi tra hang"),
        ("  Mấy   giờ mở cửa vậy shop!!! ", "may gio mo cua vay shop"),
        ("Bảo hành (warranty)", "bao hanh warranty"),
        ("Thuế VAT_hoá đơn", "thue vat hoa don"),
    ],
)
def test_a_customer_typing_with_or_without_diacritics_folds_to_the_same_words(typed, folded):
    assert fold(typed) == folded


def test_decomposed_input_folds_like_composed_input():
    import unicodedata

    assert fold(unicodedata.normalize("NFD", "Hóa đơn")) == "hoa don"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(1_250_000, "1.250.000 ₫"), (0, "0 ₫"), (999, "999 ₫"), (-50_000, "-50.000 ₫")],
)
def test_money_is_shown_as_vietnamese_dong(amount, shown):
    assert format_vnd(amount) == shown


def test_dates_are_day_month_year_in_the_shops_time_zone():
    assert format_date(date(2026, 2, 17)) == "17/02/2026"
    late_evening_utc = datetime(2026, 2, 16, 20, 30, tzinfo=UTC)  # 03:30 next day in Vietnam
    assert format_date(late_evening_utc) == "17/02/2026"
    assert format_datetime(late_evening_utc) == "17/02/2026 03:30"


@pytest.mark.parametrize("typed", ["17/02/2026", "2026-02-17", "17-02-2026", " 17.02.2026 "])
def test_a_typed_date_is_read_day_first(typed):
    assert parse_date(typed) == date(2026, 2, 17)


@pytest.mark.parametrize("typed", ["31/02/2026", "tomorrow", "", "2026/17/02"])
def test_a_malformed_date_is_refused_with_a_message(typed):
    with pytest.raises(ValueError, match="not a date"):
        parse_date(typed)


@pytest.mark.parametrize(
    "typed", ["0912345678", "+84 912 345 678", "84-912-345-678", "84912345678", "(+84) 912.345.678"]
)
def test_the_usual_ways_of_writing_a_vietnamese_number_are_one_number(typed):
    assert normalise_phone(typed) == "+84912345678"


@pytest.mark.parametrize("typed", ["12", "abc", "", "+84 1"])
def test_what_is_not_a_phone_number_is_refused(typed):
    with pytest.raises(ValueError):
        normalise_phone(typed)
