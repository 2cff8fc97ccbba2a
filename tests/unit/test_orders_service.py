"""Order codes as customers type them."""

from __future__ import annotations

import pytest

from care.orders.service import code_key


@pytest.mark.parametrize(
    ("typed", "key"), [("dh-000123", "DH000123"), (" DEMO-DH-04 ", "DEMODH04"), ("", "")]
)
def test_code_keys_ignore_case_and_separators(typed, key):
    assert code_key(typed) == key
