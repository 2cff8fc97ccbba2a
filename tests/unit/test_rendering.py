"""Labels: the words of buttons, tiers and statuses, in the reader's language."""

import pytest

from care.core.rendering import Renderer


def test_a_known_label_is_shown_in_the_readers_language() -> None:
    renderer = Renderer()
    assert renderer.label_or("vi", "segmentation.tier.gold", "gold") == "Vàng"
    assert renderer.label_or("en", "segmentation.tier.gold", "gold") == "Gold"


def test_a_word_the_shop_chose_itself_is_shown_as_written() -> None:
    renderer = Renderer()
    assert renderer.label_or("vi", "segmentation.tier.kim cương", "kim cương") == "kim cương"
    assert not renderer.has_label("vi", "segmentation.tier.kim cương")
    with pytest.raises(KeyError):
        renderer.label("vi", "segmentation.tier.kim cương")


def test_a_label_with_a_fallback_still_fills_in_its_values() -> None:
    renderer = Renderer()
    assert renderer.label_or("en", "orders.status.unknown", "?", status="on hold") == "on hold"
