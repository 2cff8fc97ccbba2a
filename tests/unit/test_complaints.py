"""Ticket codes: read however staff type them, made from the ticket's id."""

import pytest

from care.tickets.complaints import parse_ticket_code, ticket_code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KN-000123", 123),
        ("kn-123", 123),
        ("KN000123", 123),
        ("#42", 42),
        (" 7 ", 7),
        ("DH00012", None),
        ("", None),
        ("KN-", None),
    ],
)
def test_ticket_codes_are_read_however_staff_type_them(text, expected):
    assert parse_ticket_code(text) == expected


def test_a_ticket_code_comes_from_the_id():
    assert ticket_code(123) == "KN-000123"
