"""Campaigns: a spec that cannot be meant is refused with one readable error."""

from __future__ import annotations

import pytest

from care.outreach.campaigns import CampaignError, CampaignSpec

PROMOTION = {
    "name": "Tết 2027",
    "audience": {"tiers": ["diamond", "gold"]},
    "template": {
        "vi": "Chào {{ name }}! Ưu đãi hạng {{ tier }}: <b>{{ offer }}</b>",
        "en": "Hello {{ name }}! Your {{ tier }} offer: <b>{{ offer }}</b>",
    },
    "subject": {"vi": "Ưu đãi Tết từ {{ shop_name }}", "en": "A Tet offer from {{ shop_name }}"},
    "offers": {"diamond": "giảm 20%", "gold": "giảm 10%"},
}


async def test_a_bad_spec_is_one_readable_error() -> None:
    with pytest.raises(CampaignError, match="channel"):
        CampaignSpec.parse({**PROMOTION, "channel": "fax"})
    with pytest.raises(CampaignError, match="template"):
        CampaignSpec.parse({"name": "x"})
