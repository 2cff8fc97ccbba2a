"""FAQ self-service: the entries, the fuzzy index that matches what customers type, and
the questions it could not answer (unmet demand).
"""

from care.faq.service import AddedEntry, FaqEntryView, FaqService, UnansweredGroup

__all__ = [
    "AddedEntry",
    "FaqEntryView",
    "FaqService",
    "UnansweredGroup",
]
