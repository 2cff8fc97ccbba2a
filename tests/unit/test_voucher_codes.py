"""Voucher codes are random, readable aloud, and typed any way."""

import pytest

from care.vouchers import ALPHABET, new_code, normalise_code


def test_codes_are_two_groups_of_five_from_an_alphabet_without_lookalikes():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000  # no repeats in a couple of thousand draws
    for code in codes:
        left, right = code.split("-")
        assert len(left) == len(right) == 5
        assert set(left + right) <= set(ALPHABET)
    assert not set("0O1IL2Z5S8B6GQDUV") & set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("k7rmx-eht4p", "K7RMX-EHT4P"),
        ("K7RMX EHT4P", "K7RMX-EHT4P"),
        ("k7rmxeht4p", "K7RMX-EHT4P"),
        ("K7RMX-EHT4", None),  # too short
        ("K7RMX-EHT40", None),  # 0 is never in a code
        ("", None),
    ],
)
def test_a_typed_code_is_read_in_any_case_with_or_without_separators(typed, stored):
    assert normalise_code(typed) == stored
