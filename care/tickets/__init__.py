"""Complaints as tickets: intake, the staff's work on them, deadlines by tier (SLA),
complaint statistics, and the satisfaction surveys that close them.
"""

from care.tickets.complaints import (
    CATEGORIES,
    CODE_TEMPLATE,
    SEVERITIES,
    ComplaintError,
    ComplaintService,
    Draft,
    NotLinked,
    Relay,
    Result,
    StaffAction,
    Ticket,
    parse_ticket_code,
)
from care.tickets.performance import StaffFigures, StaffPerformance, StaffReport
from care.tickets.sla import DeadlineWatch, targets, tier_or_default
from care.tickets.stats import (
    CATEGORY_ORDER,
    ComplaintStatistics,
    ComplaintStats,
    Durations,
    SurveySummary,
    summarise_surveys,
)
from care.tickets.surveys import (
    DIMENSIONS,
    MAX_COMMENT,
    NPS,
    SurveyProblem,
    SurveyService,
    SurveyStep,
    WebAnswers,
    WebSurvey,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_ORDER",
    "CODE_TEMPLATE",
    "DIMENSIONS",
    "MAX_COMMENT",
    "NPS",
    "SEVERITIES",
    "ComplaintError",
    "ComplaintService",
    "ComplaintStatistics",
    "ComplaintStats",
    "DeadlineWatch",
    "Draft",
    "Durations",
    "NotLinked",
    "Relay",
    "Result",
    "StaffAction",
    "StaffFigures",
    "StaffPerformance",
    "StaffReport",
    "SurveyProblem",
    "SurveyService",
    "SurveyStep",
    "SurveySummary",
    "Ticket",
    "WebAnswers",
    "WebSurvey",
    "parse_ticket_code",
    "summarise_surveys",
    "targets",
    "tier_or_default",
]
