"""What the data says about customers: RFM segments and 80/20 tiers, lifetime value
(historical LTV and predicted CLV), loyalty (the Vulnerability Index) and the management report.
"""

from care.analytics.loyalty import Loyalty, LoyaltyProblem, Vulnerability
from care.analytics.reports import CHARTS, Reports
from care.analytics.segmentation import (
    EXPORT_COLUMNS,
    KINDS,
    SEGMENTS,
    STEPS,
    RecomputeSummary,
    Segmentation,
)

__all__ = [
    "CHARTS",
    "EXPORT_COLUMNS",
    "KINDS",
    "SEGMENTS",
    "STEPS",
    "Loyalty",
    "LoyaltyProblem",
    "RecomputeSummary",
    "Reports",
    "Segmentation",
    "Vulnerability",
]
