"""The chat lexicon: how customers type becomes the words the FAQ is written in."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from care.faq.lexicon import LEXICON_FILE, Lexicon, LexiconError
from care.io import DEMO_SYNONYMS


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("ko", "khong"),
        ("k", "khong"),
        ("hok", "khong"),
        ("hông", "khong"),
        ("dc", "duoc"),
        ("đc", "duoc"),
        ("sp", "san pham"),
        ("bnhieu", "bao nhieu"),
        ("bn", "bao nhieu"),
        ("j", "gi"),
        ("bh", "bao hanh"),
        ("ship", "giao hang"),
        ("free ship", "mien phi giao hang"),
        ("freeship", "mien phi giao hang"),
        ("ck", "chuyen khoan"),
        ("đt", "dien thoai"),
    ],
)
def test_chat_shorthand_becomes_the_words_it_stands_for(
    lexicon: Lexicon, typed: str, words: str
) -> None:
    assert lexicon.words(typed, "vi") == words.split()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("phi van chuyen het bnhieu", "phi giao hang het bao nhieu"),
        ("sp nay bh may thang z", "san pham nay bao hanh may thang"),
        ("cho em hỏi shop có giao hàng không ạ", "co giao hang khong"),
        ("Shop ơi, hủy đơn được không vậy?", "huy don hang duoc khong"),
        ("có freeship ko ad", "co mien phi giao hang khong"),
    ],
)
def test_a_chat_question_keeps_only_its_meaning(lexicon: Lexicon, typed: str, words: str) -> None:
    assert lexicon.words(typed, "vi") == words.split()


def test_fillers_and_politeness_carry_no_meaning(lexicon: Lexicon) -> None:
    assert lexicon.words("cho mình hỏi với ạ, shop ơi nhé", "vi") == []


def test_synonyms_meet_on_the_first_word_of_their_group(lexicon: Lexicon) -> None:
    assert lexicon.words("trả lại tiền", "vi") == lexicon.words("hoàn tiền", "vi")
    assert lexicon.words("phí vận chuyển", "vi") == lexicon.words("phí giao hàng", "vi")
    assert lexicon.words("hóa đơn đỏ", "vi") == lexicon.words("hóa đơn VAT", "vi")


def test_a_word_whose_folded_form_is_another_word_is_expanded_only_as_written(
    lexicon: Lexicon,
) -> None:
    assert lexicon.words("hông", "vi") == ["khong"]
    assert lexicon.words("hỏng", "vi") != ["khong"]  # broken, not "no"


def test_longer_keys_win_over_their_parts(lexicon: Lexicon) -> None:
    # "hóa đơn" is kept whole: its "đơn" is not an order ("đơn hàng").
    assert lexicon.words("hóa đơn điện tử", "vi") == ["hoa", "don", "dien", "tu"]
    assert lexicon.words("hủy đơn", "vi") == ["huy", "don", "hang"]


def test_each_language_has_its_own_shorthand(lexicon: Lexicon) -> None:
    assert lexicon.words("r u open", "en") == ["are", "you", "open"]
    assert lexicon.words("r", "vi") == ["roi"]


def test_numbers_with_units_are_left_alone(lexicon: Lexicon) -> None:
    assert lexicon.words("50k", "vi") == ["50k"]


def test_a_shop_extends_the_synonyms_in_its_own_file(tmp_path: Path) -> None:
    own = tmp_path / "synonyms.yaml"
    own.write_text("vi:\n  synonyms:\n    - [tích điểm, thẻ thành viên]\n", encoding="utf-8")

    assert Lexicon.load().words("thẻ thành viên", "vi") != ["tich", "diem"]
    assert Lexicon.load(own).words("the thanh vien", "vi") == ["tich", "diem"]


def test_the_demo_shops_synonyms_load() -> None:
    assert Lexicon.load(DEMO_SYNONYMS).words("thẻ thành viên", "vi") == ["tich", "diem"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- just a list\n", "expected a mapping"),
        ("fr:\n  synonyms: []\n", "unknown language"),
        ("vi:\n  synonym: []\n", "unknown section"),
        ("vi:\n  synonyms:\n    - hoàn tiền\n", "synonym group"),
        ("vi:\n  abbreviations: [ko]\n", "mapping of words"),
        ("vi: [", "cannot be read"),
    ],
)
def test_a_bad_synonyms_file_is_refused_with_the_reason(
    tmp_path: Path, content: str, problem: str
) -> None:
    bad = tmp_path / "synonyms.yaml"
    bad.write_text(content, encoding="utf-8")

    with pytest.raises(LexiconError, match=problem):
        Lexicon.load(bad)


def _shipped() -> dict:
    return yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))


def test_no_abbreviation_is_also_a_filler_or_a_synonym_key() -> None:
    """Review aid: a key in two tables would depend on the order the steps run in."""
    for language, sections in _shipped().items():
        abbreviations = set(sections["abbreviations"])
        synonym_keys = {word for group in sections["synonyms"] for word in group}
        assert not abbreviations & set(sections["fillers"]), language
        assert not abbreviations & synonym_keys, language


def test_no_synonym_word_is_in_two_groups() -> None:
    for language, sections in _shipped().items():
        seen: dict[str, int] = {}
        for number, group in enumerate(sections["synonyms"]):
            for word in group:
                assert seen.setdefault(word, number) == number, (language, word)


def test_no_filler_removes_a_word_faq_entries_need(lexicon: Lexicon) -> None:
    for word in ("bảo hành", "giao hàng", "hóa đơn", "trả góp", "đổi trả", "thanh toán"):
        assert lexicon.words(word, "vi"), word
