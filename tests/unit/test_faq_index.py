"""FaqIndex: the same question typed many ways finds the same entry; doubt becomes a choice."""

from __future__ import annotations

import pytest

from care.faq.index import FaqIndex, Phrasing

OPENING_HOURS_VI = 1
OPENING_HOURS_EN = 2
RETURNS = 3
VAT_INVOICE = 4
E_INVOICE = 5
INVOICE_LOOKUP = 6
DELIVERY_FEE = 7
DELIVERY_TIME = 8
COD_VI = 9
COD_EN = 10
WARRANTY_VI_ONLY = 11
POINTS = 12
PAYMENT = 13

FAQ = [
    Phrasing(OPENING_HOURS_VI, "vi", "Giờ mở cửa của cửa hàng là mấy giờ?"),
    Phrasing(OPENING_HOURS_VI, "vi", "Shop mở cửa lúc mấy giờ?"),
    Phrasing(OPENING_HOURS_EN, "en", "What are your opening hours?"),
    Phrasing(OPENING_HOURS_EN, "en", "What time do you open?"),
    Phrasing(RETURNS, "vi", "Chính sách đổi trả như thế nào?"),
    Phrasing(RETURNS, "vi", "Được đổi trả hàng trong bao nhiêu ngày?"),
    Phrasing(VAT_INVOICE, "vi", "Shop có xuất hóa đơn VAT không?"),
    Phrasing(E_INVOICE, "vi", "Hóa đơn điện tử được gửi khi nào?"),
    Phrasing(INVOICE_LOOKUP, "vi", "Tra cứu hóa đơn đã mua ở đâu?"),
    Phrasing(DELIVERY_FEE, "vi", "Phí giao hàng là bao nhiêu?"),
    Phrasing(DELIVERY_TIME, "vi", "Giao hàng mất bao lâu?"),
    Phrasing(COD_VI, "vi", "Có thanh toán khi nhận hàng (COD) không?"),
    Phrasing(COD_EN, "en", "Can I pay cash on delivery (COD)?"),
    Phrasing(WARRANTY_VI_ONLY, "vi", "Chính sách bảo hành như thế nào?"),
    Phrasing(POINTS, "vi", "Tích điểm thành viên như thế nào?"),
    Phrasing(PAYMENT, "vi", "Thanh toán bằng cách nào?"),
]


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.build(FAQ)


@pytest.mark.parametrize(
    "query",
    [
        "giờ mở cửa",
        "gio mo cua",
        "mấy giờ mở cửa vậy shop",
        "Cho em hỏi giờ mở cửa ạ?",
        "gio mo cuaa",
        "gioo mo cuwa",
    ],
)
def test_opening_hours_are_answered_however_they_are_typed(index: FaqIndex, query: str) -> None:
    found = index.match(query, "vi")

    assert found.kind == "answer"
    assert found.candidates[0].entry_id == OPENING_HOURS_VI


@pytest.mark.parametrize(
    "query", ["what time do you open", "WHAT TIME DO YOU OPEN??", "opening hurs"]
)
def test_english_questions_find_the_english_entry(index: FaqIndex, query: str) -> None:
    found = index.match(query, "en")

    assert found.kind == "answer"
    assert found.candidates[0].entry_id == OPENING_HOURS_EN


def test_a_middling_question_offers_the_close_entries_to_choose_from(index: FaqIndex) -> None:
    found = index.match("hóa đơn thế nào", "vi")

    assert found.kind == "suggest"
    ids = [c.entry_id for c in found.candidates]
    assert 1 < len(ids) <= 3
    assert len(set(ids)) == len(ids)
    assert set(ids) <= {VAT_INVOICE, E_INVOICE, INVOICE_LOOKUP}


def test_a_question_two_entries_answer_equally_well_is_offered_not_answered(
    index: FaqIndex,
) -> None:
    found = index.match("giao hàng", "vi")

    assert found.kind == "suggest"
    assert [c.entry_id for c in found.candidates[:2]] in (
        [DELIVERY_FEE, DELIVERY_TIME],
        [DELIVERY_TIME, DELIVERY_FEE],
    )


def test_candidates_are_one_per_entry_best_first(index: FaqIndex) -> None:
    found = index.match("mở cửa", "vi", limit=5)

    ids = [c.entry_id for c in found.candidates]
    scores = [c.score for c in found.candidates]
    assert ids.count(OPENING_HOURS_VI) == 1
    assert scores == sorted(scores, reverse=True)


def test_the_candidate_shows_the_phrasing_that_matched_best(index: FaqIndex) -> None:
    found = index.match("shop mở cửa lúc mấy giờ", "vi")

    assert found.candidates[0].phrasing_text == "Shop mở cửa lúc mấy giờ?"


@pytest.mark.parametrize(
    "query", ["thời tiết hôm nay thế nào", "asdkjh qwelkj zxcv", "tell me a joke", "?!", ""]
)
def test_questions_the_faq_does_not_cover_get_nothing(index: FaqIndex, query: str) -> None:
    found = index.match(query, "vi")

    assert found.kind == "none"
    assert found.candidates == []


def test_d_with_stroke_folds_to_d(index: FaqIndex) -> None:
    with_stroke = index.match("đổi trả", "vi")
    folded = index.match("doi tra", "vi")

    assert with_stroke.candidates[0].entry_id == RETURNS
    assert folded.candidates == with_stroke.candidates


def test_the_customers_language_is_preferred(index: FaqIndex) -> None:
    assert index.match("COD", "vi").candidates[0].entry_id == COD_VI
    assert index.match("COD", "en").candidates[0].entry_id == COD_EN


def test_an_entry_only_in_the_other_language_still_answers(index: FaqIndex) -> None:
    found = index.match("chính sách bảo hành", "en")

    assert found.candidates[0].entry_id == WARRANTY_VI_ONLY


def test_without_a_language_every_entry_competes(index: FaqIndex) -> None:
    assert index.match("what time do you open").candidates[0].entry_id == OPENING_HOURS_EN
    assert index.match("giờ mở cửa").candidates[0].entry_id == OPENING_HOURS_VI


@pytest.mark.parametrize("query", ["thanh toán như thế nào", "thanh toan nhu the nao"])
def test_word_pairs_tell_payment_from_membership(index: FaqIndex, query: str) -> None:
    # "thanh" is both "thanh toán" (payment) and "thành viên" (member) once folded.
    found = index.match(query, "vi")

    assert found.candidates[0].entry_id == PAYMENT


def test_the_limit_caps_the_candidates(index: FaqIndex) -> None:
    assert len(index.match("hóa đơn thế nào", "vi", limit=1).candidates) == 1


def test_thresholds_come_from_the_caller() -> None:
    strict = FaqIndex.build(FAQ, answer_threshold=100, suggest_threshold=99)
    lenient = FaqIndex.build(FAQ, answer_threshold=20, suggest_threshold=10)

    assert strict.match("giờ mở cửa vậy shop", "vi").kind in {"suggest", "none"}
    assert lenient.match("hóa đơn VAT", "vi").kind == "answer"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        FaqIndex.build(FAQ, answer_threshold=50, suggest_threshold=60)


def test_an_empty_index_answers_none() -> None:
    empty = FaqIndex.build([])

    found = empty.match("giờ mở cửa", "vi")

    assert found.kind == "none"
    assert found.candidates == []
    assert len(empty) == 0
