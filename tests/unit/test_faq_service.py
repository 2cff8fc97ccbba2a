"""Unanswered FAQ questions grouped for staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from care.faq.service import group_questions


def test_grouping_merges_identical_texts_before_comparing() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    rows = [
        (1, "giá?", "gia", "vi", now),
        (2, "Giá!", "gia", "vi", now + timedelta(minutes=1)),
        (3, "giao hàng nhanh không", "giao hang nhanh khong", "vi", now),
    ]
    groups = group_questions(rows)
    assert [(g.example, g.count, g.question_ids) for g in groups] == [
        ("Giá!", 2, (1, 2)),
        ("giao hàng nhanh không", 1, (3,)),
    ]
