"""Fuzzy matching of customer questions against the FAQ, fast enough to run on every message.

MEASURED

Independent of the database: the FAQ service feeds it ``Phrasing``s and rebuilds it when
entries change.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz.distance import OSA

from care.text import fold

MatchKind = Literal["answer", "suggest", "none"]

DEFAULT_ANSWER_THRESHOLD = 82.0
DEFAULT_SUGGEST_THRESHOLD = 55.0
DEFAULT_ANSWER_MARGIN = 8.0
_BETA = 2.0
_PAIR_WEIGHT = 0.5
_QUESTION_WEIGHT = 0.4


@dataclass(frozen=True, slots=True)
class Phrasing:
    """One way of asking an FAQ entry's question: the question itself or an alternate."""

    entry_id: int
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry that may answer the query, scored 0-100 by its best phrasing."""

    entry_id: int
    score: float
    phrasing_text: str


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """What to do with a query: answer with the first candidate, offer them, or neither."""

    kind: MatchKind
    candidates: list[Candidate] = field(default_factory=list)


NO_MATCH = FaqMatch("none", [])

# Words that carry politeness, not meaning. Only words whose folded form is unambiguous:
# "ha" (Hà Nội), "ban" (bán), "minh" (Hồ Chí Minh), "the" (thẻ) stay searchable and are
# left to the IDF weighting.
STOP_WORDS: dict[str, frozenset[str]] = {
    "vi": frozenset({
        "a", "ah", "ak", "ad", "admin", "shop", "oi", "vay", "nhe", "nha", "nhi", "em", "xin",
        "cho", "hoi", "voi", "giup", "dum", "u", "uh",
    }),
    "en": frozenset({
        "a", "an", "the", "i", "im", "me", "my", "you", "your", "we", "us", "our", "do", "does",
        "is", "are", "can", "could", "would", "please", "pls", "plz", "tell", "know", "want",
        "to", "hi", "hello", "hey", "thanks", "thank", "of", "it", "this", "there",
    }),
}
# Words that say what kind of answer is wanted (how, where, whether), not what it is about.
# They keep a fraction of their weight, whatever their frequency in this FAQ. Left out
# for the same folding reason: "the" (thẻ), "bao" (bảo), "cua" (cửa), "may" (máy).
QUESTION_WORDS = frozenset({
    "nhu", "nao", "lam", "sao", "o", "dau", "khi", "gi", "nhieu", "lau", "co", "khong",
    "duoc", "la", "thi", "de",
    "what", "how", "when", "where", "which", "why", "who", "will", "have", "any",
})
_ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())

# Chat shorthand that is never an FAQ word itself; expanded only when not in the vocabulary.
_SHORTHAND = {
    "ko": "khong", "k": "khong", "kh": "khong", "khg": "khong", "hok": "khong",
    "dc": "duoc", "j": "gi", "sp": "san pham", "bn": "bao nhieu",
    "hn": "ha noi", "hcm": "ho chi minh", "sg": "sai gon", "tp": "thanh pho",
}

_TELEX_TONES = frozenset("sfrxj")
_VOWELS = frozenset("aeiouy")
_TELEX_HORN = re.compile(r"([aou])w")


def _untelex(token: str) -> str:
    """Undo Telex keystrokes left in a word when the input method was off ("cuwa" → "cua").

    Telex types ơ/ư/ă as ow/uw/aw, â/ê/ô/đ as aa/ee/oo/dd and the tone as a trailing
    s/f/r/x/j; without the input method those letters stay in the text.
    """
    text = _TELEX_HORN.sub(r"\1", token)
    for double in ("dd", "aa", "ee", "oo"):
        text = text.replace(double, double[0])
    if len(text) > 2 and text[-1] in _TELEX_TONES and any(ch in _VOWELS for ch in text[:-1]):
        text = text[:-1]
    return text


def _stem(word: str) -> str:
    """Strip English inflections ("returned", "shops", "shipping") so they meet their stems.

    No Vietnamese syllable ends in -s, -ed or -ing, so Vietnamese words pass unchanged.
    """
    if len(word) > 5 and word.endswith("ing"):
        stem = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        stem = word[:-2]
    elif len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    else:
        return word
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        stem = stem[:-1]  # shipping -> shipp -> ship
    return stem


def _content_words(words: Iterable[str], stop: frozenset[str]) -> list[str]:
    return [_stem(w) for w in words if w not in stop]


def _feature_factor(feature: str) -> float:
    """How much of its IDF a word or word pair counts: question words and pairs count less."""
    words = feature.split(" ")
    factor = min(_QUESTION_WEIGHT if w in QUESTION_WORDS else 1.0 for w in words)
    return factor * (_PAIR_WEIGHT if len(words) > 1 else 1.0)


def _pairs(words: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(words)]


def _max_edits(length: int) -> int:
    """Typos tolerated in a word: none in very short words, where one edit is another word."""
    if length <= 2:
        return 0
    return 1 if length <= 5 else 2


def _deletes(word: str, depth: int) -> set[str]:
    """Every string made by deleting up to ``depth`` characters from ``word``."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))} - found
        found |= frontier
    return found


@dataclass(frozen=True, slots=True)
class _Term:
    """A query word: its weight and the vocabulary words it may stand for."""

    word: str
    weight: float
    alternatives: tuple[tuple[int, float], ...]  # (token id, similarity 0-1)


class FaqIndex:
    """An immutable search structure over FAQ phrasings; build it once, query it per message."""

    def __init__(
        self,
        phrasings: Sequence[Phrasing] = (),
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD,
        answer_margin: float = DEFAULT_ANSWER_MARGIN,
        shortlist: int = 64,
    ) -> None:
        if not 0 <= suggest_threshold <= answer_threshold <= 100:
            raise ValueError("need 0 <= suggest_threshold <= answer_threshold <= 100")
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.answer_margin = answer_margin
        self._shortlist = shortlist

        self._phrasings = [p for p in phrasings if fold(p.text)]
        self._entry_ids = np.array([p.entry_id for p in self._phrasings], dtype=np.int64)
        languages = sorted({p.language for p in self._phrasings})
        codes = np.array([p.language for p in self._phrasings], dtype=object)
        self._language_masks = {lang: codes == lang for lang in languages}

        vocabulary: dict[str, int] = {}
        postings: list[list[int]] = []
        documents: list[list[int]] = []
        self._clean: list[str] = []
        for row, phrasing in enumerate(self._phrasings):
            stop = STOP_WORDS.get(phrasing.language, _ALL_STOP_WORDS)
            words = _content_words(fold(phrasing.text).split(), stop)
            self._clean.append(" ".join(words))
            ids = []
            for feature in dict.fromkeys([*words, *_pairs(words)]):
                token_id = vocabulary.setdefault(feature, len(vocabulary))
                if token_id == len(postings):
                    postings.append([])
                postings[token_id].append(row)
                ids.append(token_id)
            documents.append(ids)

        self._vocabulary = vocabulary
        self._words = list(vocabulary)
        self._postings = [np.array(rows, dtype=np.int64) for rows in postings]
        n = len(self._phrasings)
        df = np.array([len(rows) for rows in postings], dtype=np.float64)
        # BM25's IDF: never negative, and a word in half the phrasings still counts a little.
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5))
        self._idf *= np.array([_feature_factor(w) for w in self._words], dtype=np.float64)
        self._unknown_weight = math.log1p((n + 0.5) / 1.5) if n else 0.0
        self._doc_weight = np.array(
            [float(self._idf[ids].sum()) for ids in documents], dtype=np.float64
        )

        self._deletes: dict[str, list[int]] = {}
        for word, token_id in vocabulary.items():
            if " " in word:
                continue
            for variant in _deletes(word, _max_edits(len(word))):
                self._deletes.setdefault(variant, []).append(token_id)

    @classmethod
    def build(
        cls,
        phrasings: Iterable[Phrasing],
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD,
        answer_margin: float = DEFAULT_ANSWER_MARGIN,
    ) -> FaqIndex:
        """Index every question and alternate phrasing; rebuild when the FAQ changes.

        ``answer_threshold`` is the score from which the best entry is sent as the answer
        (if it leads the runner-up by ``answer_margin``); from ``suggest_threshold`` the
        best entries are offered for the customer to choose.
        """
        return cls(
            list(phrasings),
            answer_threshold=answer_threshold,
            suggest_threshold=suggest_threshold,
            answer_margin=answer_margin,
        )

    def __len__(self) -> int:
        return len(self._phrasings)

    def match(self, query: str, language: str | None = None, *, limit: int = 3) -> FaqMatch:
        """Find the FAQ entries that answer ``query``, best first, one candidate per entry.

        Entries in ``language`` are preferred; the others are searched only when none of
        them reaches the suggestion threshold, so a customer who writes English still gets
        an entry that exists only in Vietnamese.
        """
        if not self._phrasings:
            return NO_MATCH
        terms = self._terms(fold(query), language)
        if not terms:
            return NO_MATCH
        dice = self._dice(terms)
        corrected = " ".join(self._best_word(t) for t in terms if " " not in t.word)

        mask = self._language_masks.get(language) if language else None
        passes = [mask, ~mask] if mask is not None else [None]
        for allowed in passes:
            scores = dice if allowed is None else np.where(allowed, dice, 0.0)
            found = self._rank(scores, corrected, limit)
            if found.kind != "none":
                return found
        return NO_MATCH

    # --- the cheap pass ------------------------------------------------------------------

    def _terms(self, folded: str, language: str | None) -> list[_Term]:
        stop = STOP_WORDS.get(language, _ALL_STOP_WORDS) if language else _ALL_STOP_WORDS
        raw: list[str] = []
        for word in folded.split():
            if word not in self._vocabulary and word in _SHORTHAND:
                raw.extend(_SHORTHAND[word].split())
            else:
                raw.append(word)
        words = _content_words(raw, stop)
        terms: dict[str, _Term] = {}
        for word in words:
            if word in terms:
                continue
            alternatives = self._alternatives(word)
            if alternatives:
                weight = max(float(self._idf[token_id]) for token_id, _ in alternatives)
            else:
                weight = self._unknown_weight
            terms[word] = _Term(word, weight, alternatives)
        # Adjacent words as pairs tell "thanh toán" (payment) from "thành viên" (member).
        readings = [(self._best_word(terms[w]), self._best_factor(terms[w])) for w in words]
        for (first, f1), (second, f2) in itertools.pairwise(readings):
            pair = f"{first} {second}"
            token_id = self._vocabulary.get(pair)
            if token_id is not None and pair not in terms:
                terms[pair] = _Term(pair, float(self._idf[token_id]), ((token_id, min(f1, f2)),))
        return list(terms.values())

    def _alternatives(self, word: str) -> tuple[tuple[int, float], ...]:
        """The vocabulary words a query word may be: itself, its Telex reading, near typos."""
        token_id = self._vocabulary.get(word)
        if token_id is not None:
            return ((token_id, 1.0),)
        untelexed = _untelex(word)
        token_id = self._vocabulary.get(untelexed)
        if token_id is not None:
            return ((token_id, 0.9),)
        best: dict[int, float] = {}
        for spelling in dict.fromkeys((word, untelexed)):
            allowed = _max_edits(len(spelling))
            if not allowed:
                continue
            for variant in _deletes(spelling, allowed):
                for candidate in self._deletes.get(variant, ()):
                    target = self._words[candidate]
                    distance = OSA.distance(spelling, target, score_cutoff=allowed)
                    if distance <= allowed:
                        similarity = 1.0 - distance / max(len(spelling), len(target))
                        if similarity > best.get(candidate, 0.0):
                            best[candidate] = similarity
        if not best:
            return ()
        top = max(best.values())
        return tuple((token_id, sim) for token_id, sim in best.items() if sim >= top - 1e-9)

    def _dice(self, terms: list[_Term]) -> np.ndarray:
        """IDF-weighted Dice overlap of the query's words with every phrasing's words."""
        n = len(self._phrasings)
        matched = np.zeros(n, dtype=np.float64)
        for term in terms:
            if len(term.alternatives) == 1:
                token_id, similarity = term.alternatives[0]
                matched[self._postings[token_id]] += self._idf[token_id] * similarity
            elif term.alternatives:
                # One query word counts once per phrasing, however many readings it has.
                best = np.zeros(n, dtype=np.float64)
                for token_id, similarity in term.alternatives:
                    rows = self._postings[token_id]
                    np.maximum.at(best, rows, self._idf[token_id] * similarity)
                matched += best
        total = sum(term.weight for term in terms)
        beta2 = _BETA**2
        return (1 + beta2) * matched / (beta2 * total + self._doc_weight)

    def _best_word(self, term: _Term) -> str:
        if not term.alternatives:
            return term.word
        token_id = max(term.alternatives, key=lambda alt: alt[1])[0]
        return self._words[token_id]

    @staticmethod
    def _best_factor(term: _Term) -> float:
        return max((factor for _, factor in term.alternatives), default=0.0)

    # --- the precise pass ----------------------------------------------------------------

    def _rank(self, scores: np.ndarray, corrected: str, limit: int) -> FaqMatch:
        rows = np.flatnonzero(scores > 0)
        if len(rows) > self._shortlist:
            top = np.argpartition(scores[rows], -self._shortlist)[-self._shortlist :]
            rows = rows[top]
        best: dict[int, Candidate] = {}
        for row in rows.tolist():
            score = self._final_score(float(scores[row]), corrected, row)
            entry_id = int(self._entry_ids[row])
            held = best.get(entry_id)
            if held is None or score > held.score:
                best[entry_id] = Candidate(entry_id, score, self._phrasings[row].text)
        ranked = sorted(best.values(), key=lambda c: (-c.score, c.entry_id))
        ranked = [c for c in ranked if c.score >= self.suggest_threshold][: max(limit, 1)]
        if not ranked:
            return NO_MATCH
        lead = ranked[0].score - (ranked[1].score if len(ranked) > 1 else 0.0)
        if ranked[0].score >= self.answer_threshold and lead >= self.answer_margin:
            return FaqMatch("answer", ranked)
        return FaqMatch("suggest", ranked)

    def _final_score(self, dice: float, corrected: str, row: int) -> float:
        return 100.0 * dice
