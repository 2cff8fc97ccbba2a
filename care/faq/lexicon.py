"""Chat Vietnamese (and chat English) for matching: abbreviations, synonyms, filler words.

The lexicon is data (``lexicon.yaml`` beside this module, reviewed like code and checked
by tests/unit/test_faq_lexicon.py); a shop adds its own synonyms in a file of the same
shape. ``Lexicon.words`` turns a text into the folded words the FAQ index compares:
shorthand expanded ("ko dc" → "khong duoc"), synonyms brought to one word ("phí vận
chuyển" → "phi giao hang"), politeness dropped ("cho em hỏi ... ạ").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from care.core.text import fold

LEXICON_FILE = Path(__file__).with_name("lexicon.yaml")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

Phrase = tuple[str, ...]


class LexiconError(ValueError):
    """A lexicon or synonyms file that cannot be used, with the reason."""


def stem(word: str) -> str:
    """Strip English inflections ("returned", "shops", "shipping", "closing") so they meet
    their stems; a final -e goes too ("close", "closing" -> "clos").

    No Vietnamese syllable ends in -s, -ed or -ing, nor has more than four letters before
    a final -e, so Vietnamese words pass unchanged.
    """
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]  # shipping -> shipp -> ship
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    elif len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _same(word: str) -> str:
    return word


@dataclass
class _Table:
    """Folded phrase → folded replacement, matched longest first."""

    entries: dict[Phrase, Phrase] = field(default_factory=dict)
    longest: int = 1
    stem: Callable[[str], str] = _same

    def add(self, key: str, value: str) -> None:
        phrase = tuple(self.stem(w) for w in fold(key).split())
        if not phrase:
            raise LexiconError(f"empty key {key!r}")
        self.entries[phrase] = tuple(self.stem(w) for w in fold(value).split())
        self.longest = max(self.longest, len(phrase))

    def apply(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self.longest, len(words) - i), 0, -1):
                found = self.entries.get(tuple(words[i : i + size]))
                if found is not None:
                    out.extend(found)
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        return out


@dataclass
class _Language:
    """One language's tables; English words are compared by their stems."""

    stem: Callable[[str], str] = _same
    strict: dict[str, Phrase] = field(default_factory=dict)
    abbreviations: _Table = field(default_factory=_Table)
    synonyms: _Table = field(default_factory=_Table)
    fillers: _Table = field(default_factory=_Table)

    def __post_init__(self) -> None:
        for table in (self.abbreviations, self.synonyms, self.fillers):
            table.stem = self.stem


class Lexicon:
    """Turns text into the words FAQ matching compares, per language."""

    def __init__(self) -> None:
        self._languages = {"vi": _Language(), "en": _Language(stem=stem)}

    @classmethod
    def load(cls, *paths: Path | str | None) -> Lexicon:
        """The shipped lexicon, extended by each given file (a shop's synonyms)."""
        lexicon = cls()
        lexicon.extend(LEXICON_FILE)
        for path in paths:
            if path:
                lexicon.extend(Path(path))
        return lexicon

    def extend(self, path: Path) -> None:
        """Add a file's abbreviations, synonyms and fillers; raises LexiconError if bad."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise LexiconError(f"{path}: cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise LexiconError(f"{path}: expected a mapping of languages (vi, en)")
        for language, sections in data.items():
            if language not in self._languages:
                raise LexiconError(f"{path}: unknown language {language!r}")
            try:
                self._extend(self._languages[language], sections or {})
            except LexiconError as exc:
                raise LexiconError(f"{path}, {language}: {exc}") from exc

    @staticmethod
    def _extend(target: _Language, sections: Any) -> None:
        if not isinstance(sections, dict):
            raise LexiconError("expected abbreviations, strict, synonyms and fillers")
        unknown = set(sections) - {"abbreviations", "strict", "synonyms", "fillers"}
        if unknown:
            raise LexiconError(f"unknown section {sorted(unknown)[0]!r}")
        for key, value in _mapping(sections.get("abbreviations")).items():
            target.abbreviations.add(key, value)
        for key, value in _mapping(sections.get("strict")).items():
            target.strict[unicodedata.normalize("NFC", key).lower()] = tuple(fold(value).split())
        for group in sections.get("synonyms") or []:
            if (
                not isinstance(group, list)
                or not group
                or not all(isinstance(w, str) and fold(w) for w in group)
            ):
                raise LexiconError(f"a synonym group must be a list of words: {group!r}")
            for word in group:
                target.synonyms.add(word, group[0])
        for filler in sections.get("fillers") or []:
            if not isinstance(filler, str):
                raise LexiconError(f"a filler must be a text: {filler!r}")
            target.fillers.add(filler, "")

    def words(self, text: str, language: str) -> list[str]:
        """The folded words of ``text`` that carry meaning, in the given language's chat."""
        table = self._languages.get(language)
        if table is None:
            return fold(text).split()
        raw = _WORD.findall(unicodedata.normalize("NFC", text).lower())
        folded: list[str] = []
        for word in raw:
            strict = table.strict.get(word)
            folded.extend(strict if strict is not None else map(table.stem, fold(word).split()))
        words = table.abbreviations.apply(folded)
        words = table.synonyms.apply(words)
        return table.fillers.apply(words)

    def known(self, language: str) -> Iterable[str]:
        """Every folded word the language's abbreviations and fillers recognise."""
        table = self._languages[language]
        for phrases in (table.abbreviations.entries, table.fillers.entries):
            for phrase in phrases:
                yield from phrase
        for word in table.strict:
            yield fold(word)


def _mapping(value: Any) -> Mapping[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise LexiconError("expected a mapping of words to words")
    return value
