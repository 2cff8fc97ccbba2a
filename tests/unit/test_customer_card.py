"""The customer card's policies: suggested by tier and segment."""

from __future__ import annotations

import pytest

from care.customers.policies import suggested_keys

TIERS = ["diamond", "gold", "silver", "member"]


@pytest.mark.parametrize(
    ("tier", "segment", "expected"),
    [
        ("diamond", "at_risk", ["dedicated_agent", "voucher_10", "win_back_voucher"]),
        ("gold", None, ["priority_support", "voucher_5"]),
        ("member", "new", ["loyalty_points", "welcome_guide", "second_order_voucher"]),
        (None, "cant_lose", ["manager_call", "premium_win_back_voucher"]),
        ("unknown", "lost", ["exit_survey"]),
    ],
)
def test_suggested_policies_by_tier_and_segment(
    tier: str | None, segment: str | None, expected: list[str]
) -> None:
    assert [k for k, _ in suggested_keys(tier, segment, TIERS)] == expected


def test_renamed_tiers_keep_their_policies() -> None:
    names = ["vip", "thân thiết", "mới"]
    assert [k for k, _ in suggested_keys("vip", None, names)] == ["dedicated_agent", "voucher_10"]
    assert [k for k, _ in suggested_keys("mới", None, names)] == ["loyalty_points"]
