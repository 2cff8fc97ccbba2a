"""Segmentation's pure parts: tier configurations and ntile groups."""

from __future__ import annotations

import numpy as np
import pytest

from care.analytics.segmentation import check_tiers, ntile


def test_a_tier_configuration_that_cannot_be_meant_is_refused() -> None:
    with pytest.raises(ValueError):
        check_tiers(["a", "b"], [0.8, 0.9])
    with pytest.raises(ValueError):
        check_tiers(["a", "b", "c"], [0.95, 0.8])
    check_tiers(["a", "b"], [0.8])


def test_ntile_puts_the_remainder_in_the_first_groups() -> None:
    assert ntile(np.arange(7)).tolist() == [1, 1, 2, 2, 3, 4, 5]
    assert ntile(np.arange(3)).tolist() == [1, 2, 3]
    assert ntile(np.array([2, 0, 1])).tolist() == [2, 3, 1]
    assert ntile(np.arange(0)).tolist() == []
