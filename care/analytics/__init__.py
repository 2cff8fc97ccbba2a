"""What the data says about customers: RFM segments and 80/20 tiers, lifetime value
(historical LTV and predicted CLV), loyalty (the Vulnerability Index) and the management report.

The models need numpy, scipy and matplotlib, which take seconds to import; each name below
is imported from its module on first use, so a command that only reads a constant does
not pay for the fitting code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from care.analytics.dashboard import Dashboard, DashboardFigures
    from care.analytics.demo import DEMO_CAMPAIGN, CareDemo, write_care_demo
    from care.analytics.effect import CampaignEffects, EffectProblem, EffectReport, Uplift
    from care.analytics.loyalty import Comparison, Loyalty, LoyaltyProblem, Vulnerability
    from care.analytics.products import ProductMonth, ProductReports, TopProduct, UnmetProduct
    from care.analytics.reports import CHARTS, Reports
    from care.analytics.segmentation import (
        EXPORT_COLUMNS,
        KINDS,
        SEGMENTS,
        STEPS,
        RecomputeSummary,
        Segmentation,
    )

_MODULE_OF = {
    "Dashboard": "dashboard",
    "DashboardFigures": "dashboard",
    "DEMO_CAMPAIGN": "demo",
    "CareDemo": "demo",
    "write_care_demo": "demo",
    "CampaignEffects": "effect",
    "EffectProblem": "effect",
    "EffectReport": "effect",
    "Uplift": "effect",
    "Comparison": "loyalty",
    "Loyalty": "loyalty",
    "LoyaltyProblem": "loyalty",
    "Vulnerability": "loyalty",
    "ProductMonth": "products",
    "ProductReports": "products",
    "TopProduct": "products",
    "UnmetProduct": "products",
    "CHARTS": "reports",
    "Reports": "reports",
    "EXPORT_COLUMNS": "segmentation",
    "KINDS": "segmentation",
    "SEGMENTS": "segmentation",
    "STEPS": "segmentation",
    "RecomputeSummary": "segmentation",
    "Segmentation": "segmentation",
}

__all__ = [
    "CHARTS",
    "DEMO_CAMPAIGN",
    "EXPORT_COLUMNS",
    "KINDS",
    "SEGMENTS",
    "STEPS",
    "CampaignEffects",
    "CareDemo",
    "Comparison",
    "Dashboard",
    "DashboardFigures",
    "EffectProblem",
    "EffectReport",
    "Loyalty",
    "LoyaltyProblem",
    "ProductMonth",
    "ProductReports",
    "RecomputeSummary",
    "Reports",
    "Segmentation",
    "TopProduct",
    "UnmetProduct",
    "Uplift",
    "Vulnerability",
    "write_care_demo",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
