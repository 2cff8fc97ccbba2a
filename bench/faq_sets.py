"""The demo FAQ and the question sets written apart from it (bench/data/).

``faq_dev.yaml`` is what thresholds, weights and the lexicon are tuned on;
``faq_heldout.yaml`` is only ever measured. Both name entries by the keys of
``faq_entries.yaml``; "none" marks a question the FAQ does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from care.core.text import fold
from care.faq.index import FaqIndex, FaqMatch, Phrasing
from care.faq.lexicon import Lexicon
from care.io import DEMO_SYNONYMS

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("data")
DEMO_FAQ = ROOT / "care" / "io" / "demo_faq.yaml"


@dataclass(frozen=True)
class Question:
    key: str  # entry key, or "none" for out of scope
    language: str
    text: str


@dataclass(frozen=True)
class DemoFaq:
    phrasings: list[Phrasing]
    entry_of: dict[tuple[str, str], int]  # (key, language) -> entry id
    names: dict[int, str]


def demo_faq() -> DemoFaq:
    """The demo FAQ as the service indexes it: question and alternates per entry."""
    items = yaml.safe_load(DEMO_FAQ.read_text(encoding="utf-8"))
    keys = yaml.safe_load((DATA / "faq_entries.yaml").read_text(encoding="utf-8"))
    by_question = {
        (fold(question), language): key
        for key, questions in keys.items()
        for language, question in questions.items()
    }
    phrasings: list[Phrasing] = []
    entry_of: dict[tuple[str, str], int] = {}
    names: dict[int, str] = {}
    for entry_id, item in enumerate(items, start=1):
        language = item["language"]
        key = by_question[(fold(item["question"]), language)]
        entry_of[(key, language)] = entry_id
        names[entry_id] = item["question"]
        for text in (item["question"], *item.get("alternates", ())):
            phrasings.append(Phrasing(entry_id, language, text))
    return DemoFaq(phrasings, entry_of, names)


def demo_lexicon() -> Lexicon:
    """The lexicon as the demo shop configures it: the shipped one and its synonyms."""
    return Lexicon.load(DEMO_SYNONYMS)


def questions(name: str) -> list[Question]:
    data = yaml.safe_load((DATA / f"faq_{name}.yaml").read_text(encoding="utf-8"))
    return [Question(key, language, text) for key, language, text in data["questions"]]


@dataclass
class Scores:
    """The figures a question set is judged by."""

    in_scope: int
    out_of_scope: int
    answered_right: int
    right_first: int  # answered right, or offered first among the suggestions
    wrong_answers: int
    out_of_scope_answered: int
    misses: list[tuple[Question, FaqMatch]]

    def rate(self, count: int) -> float:
        return count / self.in_scope if self.in_scope else 0.0


def evaluate(index: FaqIndex, faq: DemoFaq, asked: list[Question]) -> Scores:
    scores = Scores(0, 0, 0, 0, 0, 0, [])
    for question in asked:
        found = index.match(question.text, question.language)
        first = found.candidates[0].entry_id if found.candidates else None
        if question.key == "none":
            scores.out_of_scope += 1
            if found.kind == "answer":
                scores.out_of_scope_answered += 1
                scores.misses.append((question, found))
            continue
        scores.in_scope += 1
        expected = faq.entry_of[(question.key, question.language)]
        if found.kind == "answer" and first == expected:
            scores.answered_right += 1
        elif found.kind == "answer":
            scores.wrong_answers += 1
        if found.kind != "none" and first == expected:
            scores.right_first += 1
        else:
            scores.misses.append((question, found))
        if found.kind == "suggest" and first == expected:
            scores.misses.append((question, found))  # right, but one more tap
    return scores
