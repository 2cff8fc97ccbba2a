"""FAQ self-service: the entries, the fuzzy index that matches what customers type, and
the questions it could not answer (unmet demand).
"""

from care.faq.digest import FaqDigest
from care.faq.lexicon import Lexicon, LexiconError
from care.faq.service import (
    AddedEntry,
    FaqEntryView,
    FaqService,
    LearnedPhrasing,
    PendingPhrasing,
    UnansweredGroup,
    asker_key,
)

__all__ = [
    "AddedEntry",
    "FaqDigest",
    "FaqEntryView",
    "FaqService",
    "LearnedPhrasing",
    "Lexicon",
    "LexiconError",
    "PendingPhrasing",
    "UnansweredGroup",
    "asker_key",
]
