"""Matching as customers type: the language they write in, and the margin rule that
decides between answering and offering a choice."""

from __future__ import annotations

import pytest

from care.faq.index import FaqIndex, Phrasing

FEE_VI, FEE_EN, WARRANTY_VI, WARRANTY_EN, INSTALMENTS_VI = 1, 2, 3, 4, 5

FAQ = [
    Phrasing(FEE_VI, "vi", "Phí giao hàng là bao nhiêu?"),
    Phrasing(FEE_VI, "vi", "Phí ship bao nhiêu tiền?"),
    Phrasing(FEE_EN, "en", "How much is the shipping fee?"),
    Phrasing(FEE_EN, "en", "Is shipping free?"),
    Phrasing(WARRANTY_VI, "vi", "Sản phẩm được bảo hành bao lâu?"),
    Phrasing(WARRANTY_EN, "en", "How long is the warranty?"),
    Phrasing(INSTALMENTS_VI, "vi", "Có mua trả góp được không?"),
]


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.build(FAQ)


@pytest.mark.parametrize("customer_language", ["vi", "en"])
def test_vietnamese_typed_without_diacritics_gets_the_vietnamese_entry(
    index: FaqIndex, customer_language: str
) -> None:
    found = index.match("phi ship het bnhieu vay shop", customer_language)

    assert found.kind == "answer"
    assert [c.entry_id for c in found.candidates] == [FEE_VI]


def test_an_english_question_from_a_vietnamese_customer_gets_the_english_entry(
    index: FaqIndex,
) -> None:
    found = index.match("how much is shipping", "vi")

    assert found.candidates[0].entry_id == FEE_EN


def test_a_vietnamese_question_is_never_offered_english_entries(index: FaqIndex) -> None:
    # "ship" is also an English word of the FAQ; the question is still Vietnamese.
    found = index.match("ship qua campuchia mat may ngay", "vi")

    assert all(c.entry_id in (FEE_VI, WARRANTY_VI, INSTALMENTS_VI) for c in found.candidates)


def test_an_entry_only_in_vietnamese_answers_an_english_speaker_who_types_vietnamese(
    index: FaqIndex,
) -> None:
    found = index.match("tra gop dc ko", "en")

    assert found.kind == "answer"
    assert found.candidates[0].entry_id == INSTALMENTS_VI


def test_when_the_words_do_not_tell_the_customers_language_decides(index: FaqIndex) -> None:
    assert index.languages_for(["zzz"], "en") == ["en"]
    assert index.languages_for(["zzz"], "vi") == ["vi"]
    # One word of each: the customer's language first, the other as well.
    assert index.languages_for(["is", "co"], "en") == ["en", "vi"]
    assert index.languages_for(["is", "co"], "vi") == ["vi", "en"]
    assert index.languages_for(["bao", "hanh"], "en")[0] == "vi"
    assert index.languages_for(["warranty"], "vi")[0] == "en"


def test_a_typo_that_makes_another_word_is_not_answered_with_confidence(
    index: FaqIndex,
) -> None:
    # "bảo hàng" for "bảo hành": "hàng" is a word of the delivery entries.
    found = index.match("bảo hàng bao lâu", "vi")

    assert not (found.kind == "answer" and found.candidates[0].entry_id == FEE_VI)
    assert WARRANTY_VI in [c.entry_id for c in found.candidates]


@pytest.mark.parametrize(
    ("top", "lead", "answered"),
    [
        (90, 30, True),
        (65, 10, True),  # at the threshold, by the margin
        (70, 9.9, False),  # good, but the runner-up is close: the customer chooses
        (64.9, 15, False),  # ahead, but not good enough
        (60, 20, True),  # a little below the threshold, far ahead of anything else
        (59.9, 40, False),  # too far below, however far ahead
        (62, 19, False),
    ],
)
def test_the_margin_rule(top: float, lead: float, answered: bool) -> None:
    rule = FaqIndex.build([], answer_threshold=65, suggest_threshold=50, answer_margin=10)

    assert rule.answers(top, lead) is answered


def test_two_entries_equally_close_are_offered_not_answered() -> None:
    index = FaqIndex.build(
        [
            Phrasing(1, "vi", "Đổi trả hàng như thế nào?"),
            Phrasing(2, "vi", "Đổi trả hàng online như thế nào?"),
            Phrasing(3, "vi", "Giờ mở cửa?"),
        ]
    )

    found = index.match("doi tra hang", "vi")

    assert found.kind == "suggest"
    assert {c.entry_id for c in found.candidates[:2]} == {1, 2}
