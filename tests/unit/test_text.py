"""Folding, money, dates and phones: the formats customers and staff see everywhere."""

import re
from datetime import UTC, date, datetime

import pytest

from care.core.text import (
    fold,
    format_date,
    format_datetime,
    format_vnd,
    normalise_email,
    normalise_phone,
    parse_date,
    parse_vnd,
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


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("1.250.000", 1_250_000),
        ("1,250,000", 1_250_000),
        ("1250000", 1_250_000),
        ("1 250 000", 1_250_000),
        ("1.250.000 ₫", 1_250_000),
        ("1.250.000đ", 1_250_000),
        ("1.250.000 VND", 1_250_000),
        ("1.250.000 đồng", 1_250_000),
        ("1.250", 1_250),
        ("0", 0),
        ("500k", 500_000),
        ("500K", 500_000),
        ("500 nghìn", 500_000),
        ("500 ngàn", 500_000),
        ("1.5k", 1_500),
        ("2k5", 2_500),
        ("1.5tr", 1_500_000),
        ("1,5 triệu", 1_500_000),
        ("1,25tr", 1_250_000),
        ("1tr2", 1_200_000),
        ("1tr250", 1_250_000),
        ("2 triệu đồng", 2_000_000),
        ("1,2 tỷ", 1_200_000_000),
    ],
)
def test_an_amount_is_read_the_way_vietnamese_shops_write_it(written, amount):
    assert parse_vnd(written) == amount


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        # Đồng have no decimals: 2.500 and 2.500.000 are both fair readings of "2.5".
        ("2.5", "'2.5' is not a whole number of đồng"),
        ("12,5", "'12,5' is not a whole number of đồng"),
        ("1250000.5", "'1250000.5' is not a whole number of đồng"),
        ("1.2345tr", "'1.2345tr' is ambiguous"),
        ("1.250k", "'1.250k' is ambiguous"),
        ("1k2345", "'1k2345' is not a whole number of đồng"),
        ("-1.250.000", "'-1.250.000' must not be negative"),
        ("một triệu", "'một triệu' is not an amount in đồng"),
        ("k", "'k' is not an amount in đồng"),
        ("", "'' is not an amount in đồng"),
    ],
)
def test_an_amount_that_cannot_be_read_for_sure_is_refused(written, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_vnd(written)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  lan@example.com ", "lan@example.com"),
        ("Lan.Nguyen@Example.COM", "Lan.Nguyen@example.com"),
        ("lan@bücher.example", "lan@bücher.example"),
    ],
)
def test_an_email_address_is_stored_in_one_form(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("typed", ["lan", "lan@", "@example.com", "lan@@example.com", ""])
def test_what_is_not_an_email_address_is_refused(typed):
    with pytest.raises(ValueError, match="not an e-mail address"):
        normalise_email(typed)
