"""Fuzzy matching of customer questions against the FAQ, fast enough to run on every message.

Every FAQ phrasing (question or alternate) and every query goes through the chat lexicon
(``care.faq.lexicon``: shorthand and teen code expanded, synonyms brought to one word,
politeness dropped) and is folded. A query is then matched in two passes:

1. Cheap pass, over all phrasings at once (numpy over an inverted index): each query word
   is read as a vocabulary word (exactly; else its Telex reading, "cuwa" → "cua"; else the
   nearest words within one or two edits, found through a SymSpell-style table of
   deletions) and every phrasing gets an IDF-weighted F-beta overlap with the query, with
   beta = 3: covering the query's words counts nine times as much as covering the
   phrasing's, because a customer's question is short and an FAQ phrasing says more.
   Adjacent word pairs (syllable bigrams) are features too ("thanh toan" is payment,
   "thanh vien" is membership); a pair the FAQ does not know whose one word is a typo
   that made another word ("bảo hàng" for "bảo hành") is read as the FAQ's pair. Question
   words ("như thế nào", "ở đâu", "how") keep 40% of their weight.
2. Precise pass, on the 32 best phrasings: 0.8 x the overlap + 0.2 x rapidfuzz's
   ``partial_token_sort_ratio`` of the typo-corrected query and the phrasing, which
   breaks ties between near-identical phrasings by wording and order. A phrasing whose
   overlap leaves it unable to reach the current top entries is not scored at all.

Languages are searched one at a time, the one the query is written in first (see
``match``), and the margin rule (``answers``) decides between answering and suggesting.

Choices, as measured by bench/bench_faq.py (figures in bench/RESULTS.md):

- The naive ``process.extractOne(query, all_phrasings, scorer=WRatio)`` takes 6-15 ms per
  query over 10,000 entries and puts the right entry first for 69% of the paraphrase set;
  this index takes about 0.2 ms.
- Thresholds (answer 65, margin 10, suggest 50), the lone-leader discount (5) and the
  lexicon were chosen on bench/data/faq_dev.yaml only; beta (2-4), the string share
  (0.7-0.9), the pair weight (0.3-0.8) and the question-word weight (0.15-0.6) moved the
  dev set's right answers by about one point: the choice is not sensitive to them.
- Searching the answers' text as a weaker field was tried and dropped: it lowered the dev
  set's right answers by three points (answers make near runners-up of other entries).
- What still misses are words no phrasing of the entry uses ("hoàn tiền" for the returns
  entry); those are what the learning loop (FaqService.confirm) and staff add.

The index knows nothing of the database: the FAQ service feeds it ``Phrasing``s and
builds a new one when entries change.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from care.core.text import fold
from care.faq.lexicon import Lexicon, stem

MatchKind = Literal["answer", "suggest", "none"]

DEFAULT_ANSWER_THRESHOLD = 65.0
DEFAULT_SUGGEST_THRESHOLD = 50.0
DEFAULT_ANSWER_MARGIN = 10.0

_BETA2 = 9.0  # F-beta, beta = 3: covering the query counts 9 times as much as the phrasing
_PAIR_WEIGHT = 0.5
_QUESTION_WEIGHT = 0.4
_OVERLAP_SHARE = 0.8  # of the final score; the rest is the string similarity
_STRING_SCORER = fuzz.partial_token_sort_ratio
_SHORTLIST = 32
_TELEX_SIMILARITY = 0.9
_PAIR_TYPO_SIMILARITY = 0.85
_LONE_DISCOUNT = 5.0
_UNKNOWN_SHARE = 1.0  # of the rarest weight, for a query word the FAQ does not know


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
    """What to do with a query: answer with the first candidate, offer them all, or neither."""

    kind: MatchKind
    candidates: list[Candidate] = field(default_factory=list)


def _word_set(words: str) -> frozenset[str]:
    """Words as the lexicon leaves them: English ones stemmed ("there" -> "ther")."""
    return frozenset(stem(word) for word in words.split())


# Words that carry politeness, not meaning. Only words whose folded form is unambiguous:
# "ha" (Hà Nội), "ban" (bán), "minh" (Hồ Chí Minh) stay searchable, and English "the"
# is a stop word only for English text because folded Vietnamese "the" is "thẻ" (card).
STOP_WORDS: dict[str, frozenset[str]] = {
    "vi": _word_set("a ah ak ad admin shop oi vay nhe nha nhi em xin cho hoi voi giup dum u uh"),
    "en": _word_set(
        "a an the i im me my you your we us our do does is are can could would please pls plz "
        "tell know want to hi hello hey thanks thank of it this there"
    ),
}
_ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())

# Words that say what kind of answer is wanted (how, where, whether), not what it is about.
# Left out for the same folding reason: "the" (thẻ), "bao" (bảo), "cua" (cửa), "may" (máy).
QUESTION_WORDS = _word_set(
    "nhu nao lam sao o dau khi gi nhieu lau co khong duoc la thi de "
    "what how when where which why who will have any"
)

_TELEX_TONES = frozenset("sfrxj")
_TELEX_HORN = re.compile(r"([aou])w")
_VOWELS = frozenset("aeiouy")


def _untelex(word: str) -> str:
    """Undo Telex keystrokes left in a word when the input method was off ("cuwa" → "cua").

    Telex types ơ/ư/ă as ow/uw/aw, â/ê/ô/đ as aa/ee/oo/dd and the tone as a trailing
    s/f/r/x/j; without the input method those letters stay in the text.
    """
    text = _TELEX_HORN.sub(r"\1", word)
    for double in ("dd", "aa", "ee", "oo"):
        text = text.replace(double, double[0])
    if len(text) > 2 and text[-1] in _TELEX_TONES and any(ch in _VOWELS for ch in text[:-1]):
        text = text[:-1]
    return text


def _content_words(words: Iterable[str], stop: frozenset[str]) -> list[str]:
    return [stem(w) for w in words if w not in stop]


def _feature_factor(feature: str) -> float:
    """How much of its IDF a word or word pair counts: question words and pairs count less."""
    words = feature.split(" ")
    factor = min(_QUESTION_WEIGHT if w in QUESTION_WORDS else 1.0 for w in words)
    return factor * (_PAIR_WEIGHT if len(words) > 1 else 1.0)


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
    """A query word or word pair: its weight and the vocabulary features it may stand for."""

    text: str
    weight: float
    readings: tuple[tuple[int, float], ...]  # (feature id, confidence 0-1), best first


class FaqIndex:
    """An immutable search structure over FAQ phrasings; build it once, query it per message."""

    def __init__(
        self,
        phrasings: Sequence[Phrasing] = (),
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD,
        answer_margin: float = DEFAULT_ANSWER_MARGIN,
        lexicon: Lexicon | None = None,
    ) -> None:
        if not 0 <= suggest_threshold <= answer_threshold <= 100:
            raise ValueError("need 0 <= suggest_threshold <= answer_threshold <= 100")
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.answer_margin = answer_margin
        self._lexicon = lexicon if lexicon is not None else default_lexicon()

        self._phrasings = [p for p in phrasings if fold(p.text)]
        self._entry_ids = [p.entry_id for p in self._phrasings]
        languages = np.array([p.language for p in self._phrasings], dtype=object)
        self._language_masks = {lang: languages == lang for lang in set(languages.tolist())}

        features: dict[str, int] = {}
        postings: list[list[int]] = []
        documents: list[list[int]] = []
        vocabulary: dict[str, set[str]] = {}
        self._clean: list[str] = []
        for row, phrasing in enumerate(self._phrasings):
            words = _content_words(
                self._lexicon.words(phrasing.text, phrasing.language),
                self._stop_words(phrasing.language),
            )
            vocabulary.setdefault(phrasing.language, set()).update(fold(phrasing.text).split())
            self._clean.append(" ".join(words))
            ids = []
            for feature in dict.fromkeys([*words, *_pairs(words)]):
                feature_id = features.setdefault(feature, len(features))
                if feature_id == len(postings):
                    postings.append([])
                postings[feature_id].append(row)
                ids.append(feature_id)
            documents.append(ids)

        self._features = features
        for language in list(vocabulary):
            vocabulary[language].update(self._lexicon.known(language))
        self._vocabulary = {lang: frozenset(words) for lang, words in vocabulary.items()}
        self._feature_texts = list(features)
        self._postings = [np.array(rows, dtype=np.intp) for rows in postings]
        n = len(self._phrasings)
        df = np.array([len(rows) for rows in postings], dtype=np.float64)
        # BM25's IDF: never negative, and a word in half the phrasings still counts a little.
        self._weights = np.log1p((n - df + 0.5) / (df + 0.5)) * np.array(
            [_feature_factor(f) for f in self._feature_texts], dtype=np.float64
        )
        self._unknown_weight = math.log1p((n + 0.5) / 1.5)  # as rare as a word can be
        self._doc_weights = np.array(
            [float(self._weights[ids].sum()) for ids in documents], dtype=np.float64
        )

        deletions: dict[str, list[int]] = {}
        for feature, feature_id in features.items():
            if " " not in feature:
                for variant in _deletes(feature, _max_edits(len(feature))):
                    deletions.setdefault(variant, []).append(feature_id)
        # Tuples of ints drop out of the garbage collector's sight; 100,000 lists would not.
        self._deletions = {variant: tuple(ids) for variant, ids in deletions.items()}

    @classmethod
    def build(
        cls,
        phrasings: Iterable[Phrasing],
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD,
        answer_margin: float = DEFAULT_ANSWER_MARGIN,
        lexicon: Lexicon | None = None,
    ) -> FaqIndex:
        """Index every question and alternate phrasing; build a new index when the FAQ changes.

        A query's best entry is the answer from ``answer_threshold`` (0-100) if it leads the
        next entry by ``answer_margin``, since two close entries mean the customer should
        choose; from ``suggest_threshold`` the best entries are offered as suggestions.
        """
        return cls(
            list(phrasings),
            answer_threshold=answer_threshold,
            suggest_threshold=suggest_threshold,
            answer_margin=answer_margin,
            lexicon=lexicon,
        )

    def __len__(self) -> int:
        return len(self._phrasings)

    def match(self, query: str, language: str | None = None, *, limit: int = 3) -> FaqMatch:
        """Find the FAQ entries that answer ``query``, best first, one candidate per entry.

        Entries are searched one language at a time: first the language the query is
        written in (the one more of its words belong to; the customer's ``language`` on
        a tie), then another only if at least half the query's words are of that language
        too, so a question typed in Vietnamese without diacritics is never offered
        English entries, yet an entry written only in Vietnamese still answers a customer
        who chose English and typed Vietnamese.
        """
        folded = fold(query)
        if not self._phrasings or not folded:
            return FaqMatch("none")
        readings: dict[str, tuple[tuple[int, float], ...]] = {}  # shared by every pass
        for searched in self.languages_for(folded.split(), language):
            found = self._search(query, searched, limit, readings)
            if found.kind != "none":
                return found
        return FaqMatch("none")

    def languages_for(self, words: Sequence[str], language: str | None) -> list[str]:
        """The languages to search for these folded words, the likeliest first."""
        hits = {
            lang: sum(1 for word in words if word in vocabulary)
            for lang, vocabulary in self._vocabulary.items()
        }
        ranked = sorted(hits, key=lambda lang: (-hits[lang], lang != language, lang))
        first, others = ranked[0], ranked[1:]
        return [first, *(lang for lang in others if hits[lang] * 2 >= len(words))]

    def _search(
        self,
        query: str,
        language: str,
        limit: int,
        readings: dict[str, tuple[tuple[int, float], ...]],
    ) -> FaqMatch:
        words = _content_words(self._lexicon.words(query, language), self._stop_words(language))
        terms = self._terms(words, readings)
        if not terms:
            return FaqMatch("none")
        overlap = np.where(self._language_masks[language], self._overlap(terms), 0.0)
        corrected = " ".join(self._reading(t) for t in terms if " " not in t.text)
        return self._rank(overlap, corrected, limit)

    @staticmethod
    def _stop_words(language: str) -> frozenset[str]:
        return STOP_WORDS.get(language, _ALL_STOP_WORDS)

    # --- the cheap pass over every phrasing ----------------------------------------------

    def _terms(
        self, words: list[str], known: dict[str, tuple[tuple[int, float], ...]]
    ) -> list[_Term]:
        terms: dict[str, _Term] = {}
        for word in words:
            if word not in terms:
                if word not in known:
                    known[word] = self._readings(word)
                readings = known[word]
                if readings:
                    weight = self._weights[readings[0][0]]
                else:
                    weight = self._unknown_weight * _UNKNOWN_SHARE * _feature_factor(word)
                terms[word] = _Term(word, float(weight), readings)
        pairs = [(terms[a], terms[b]) for a, b in itertools.pairwise(words)]
        pairs = [(a, b) for a, b in pairs if a.readings and b.readings]
        # A word in a pair the FAQ knows is what it seems, whatever its other neighbour.
        anchored = {
            term.text
            for a, b in pairs
            if f"{self._reading(a)} {self._reading(b)}" in self._features
            for term in (a, b)
        }
        for a, b in pairs:
            pair, confidence = f"{self._reading(a)} {self._reading(b)}", 1.0
            feature_id = self._features.get(pair)
            if feature_id is None:
                # Each word is a word, but the pair is not: a typo that made another word
                # ("bảo hàng" for "bảo hành"). The nearest pair of the FAQ, if one edit away.
                pair, feature_id = self._near_pair(self._reading(a), self._reading(b))
                confidence = _PAIR_TYPO_SIMILARITY
                if feature_id is not None:
                    # The word that changed is read as its correction too, unless it is
                    # what it seems in a pair with its other neighbour.
                    for term, corrected in zip((a, b), pair.split(" "), strict=True):
                        if self._reading(term) != corrected and term.text not in anchored:
                            fid = self._features[corrected]
                            terms[term.text] = _Term(
                                term.text, float(self._weights[fid]), ((fid, confidence),)
                            )
            if feature_id is not None and pair not in terms:
                confidence *= min(a.readings[0][1], b.readings[0][1])
                terms[pair] = _Term(
                    pair, float(self._weights[feature_id]), ((feature_id, confidence),)
                )
        return list(terms.values())

    def _near_pair(self, first: str, second: str) -> tuple[str, int | None]:
        """The rarest pair of the FAQ one edit from ``first second``, one word changed."""
        pairs = [f"{near} {second}" for near in self._neighbours(first)]
        pairs += [f"{first} {near}" for near in self._neighbours(second)]
        known = [pair for pair in pairs if pair in self._features]
        if not known:
            return "", None
        best = max(known, key=lambda pair: (self._weights[self._features[pair]], pair))
        return best, self._features[best]

    def _neighbours(self, word: str) -> list[str]:
        """Vocabulary words one edit from ``word`` (itself excluded), for words of 3+ letters."""
        if len(word) < 3:
            return []
        found: dict[str, None] = {}
        for variant in _deletes(word, 1):
            for candidate in self._deletions.get(variant, ()):
                target = self._feature_texts[candidate]
                if target != word and OSA.distance(word, target, score_cutoff=1) <= 1:
                    found[target] = None
        return list(found)

    def _readings(self, word: str) -> tuple[tuple[int, float], ...]:
        """The vocabulary words a query word may be: itself, its Telex reading, near typos."""
        feature_id = self._features.get(word)
        if feature_id is not None:
            return ((feature_id, 1.0),)
        untelexed = _untelex(word)
        feature_id = self._features.get(untelexed)
        if feature_id is not None:
            return ((feature_id, _TELEX_SIMILARITY),)
        found: dict[int, float] = {}
        for spelling in dict.fromkeys((word, untelexed)):
            allowed = _max_edits(len(spelling))
            for variant in _deletes(spelling, allowed) if allowed else ():
                for candidate in self._deletions.get(variant, ()):
                    target = self._feature_texts[candidate]
                    distance = OSA.distance(spelling, target, score_cutoff=allowed)
                    if distance <= allowed:
                        similarity = 1.0 - distance / max(len(spelling), len(target))
                        found[candidate] = max(similarity, found.get(candidate, 0.0))
        if not found:
            return ()
        best = max(found.values())
        nearest = [(fid, sim) for fid, sim in found.items() if sim >= best - 1e-9]
        return tuple(
            sorted(nearest, key=lambda r: (-self._weights[r[0]], self._feature_texts[r[0]]))
        )

    def _reading(self, term: _Term) -> str:
        return self._feature_texts[term.readings[0][0]] if term.readings else term.text

    def _overlap(self, terms: list[_Term]) -> np.ndarray:
        """IDF-weighted F-beta overlap (0-1) of the query's terms with every phrasing."""
        matched = np.zeros(len(self._phrasings), dtype=np.float64)
        for term in terms:
            if len(term.readings) == 1:
                feature_id, confidence = term.readings[0]
                matched[self._postings[feature_id]] += self._weights[feature_id] * confidence
            elif term.readings:
                # A word with several equally near readings counts once per phrasing.
                best = np.zeros_like(matched)
                for feature_id, confidence in term.readings:
                    np.maximum.at(
                        best, self._postings[feature_id], self._weights[feature_id] * confidence
                    )
                matched += best
        query_weight = sum(term.weight for term in terms)
        return (1 + _BETA2) * matched / (_BETA2 * query_weight + self._doc_weights)

    # --- the precise pass over the shortlist ---------------------------------------------

    def _rank(self, overlap: np.ndarray, corrected: str, limit: int) -> FaqMatch:
        string_share = 100 * (1 - _OVERLAP_SHARE)
        # A phrasing below this overlap cannot reach the suggestion threshold even with a
        # perfect string similarity.
        floor = (self.suggest_threshold - string_share) / (100 * _OVERLAP_SHARE)
        rows = np.flatnonzero(overlap > max(floor, 0.0))
        if len(rows) > _SHORTLIST:
            rows = rows[np.argpartition(overlap[rows], -_SHORTLIST)[-_SHORTLIST:]]
        if not len(rows):
            return FaqMatch("none")
        base = overlap[rows] * (100 * _OVERLAP_SHARE)
        order = np.argsort(-base, kind="stable")
        rows, base = rows[order], base[order]
        # The entries we show, and the runner-up that decides between answering and
        # suggesting, score at least their overlap part; a phrasing that cannot catch up
        # with them even with a perfect string similarity is not worth scoring.
        wanted = max(limit, 2)
        seen: set[int] = set()
        for row, partial in zip(rows.tolist(), base.tolist(), strict=True):
            seen.add(self._entry_ids[row])
            if len(seen) == wanted:
                keep = base + string_share >= partial
                rows, base = rows[keep], base[keep]
                break
        similarity = process.cdist(
            [corrected], [self._clean[row] for row in rows.tolist()], scorer=_STRING_SCORER
        )[0]
        final = base + (1 - _OVERLAP_SHARE) * similarity
        scores: dict[int, tuple[float, int]] = {}  # entry id -> (score, row)
        for row, score in zip(rows.tolist(), final.tolist(), strict=True):
            entry_id = self._entry_ids[row]
            if entry_id not in scores or score > scores[entry_id][0]:
                scores[entry_id] = (score, row)
        ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))
        top = ranked[0][1][0]
        if top < self.suggest_threshold:
            return FaqMatch("none")
        lead = top - (ranked[1][1][0] if len(ranked) > 1 else 0.0)
        shown = [
            Candidate(entry_id, round(score, 2), self._phrasings[row].text)
            for entry_id, (score, row) in ranked[: max(limit, 1)]
            if score >= self.suggest_threshold
        ]
        if self.answers(top, lead):
            return FaqMatch("answer", shown)
        return FaqMatch("suggest", shown)

    def answers(self, top: float, lead: float) -> bool:
        """The margin rule: is a best entry scoring ``top``, ``lead`` ahead of the next, the
        answer? Yes when it is good and clearly ahead: from the answer threshold with the
        margin, or from a little below it (``_LONE_DISCOUNT``) when it leads by twice the
        margin, nothing else coming close."""
        if top >= self.answer_threshold and lead >= self.answer_margin:
            return True
        return top >= self.answer_threshold - _LONE_DISCOUNT and lead >= 2 * self.answer_margin


@functools.cache
def default_lexicon() -> Lexicon:
    """The shipped lexicon, read once (on first use, not at import)."""
    return Lexicon.load()


def _pairs(words: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(words)]
