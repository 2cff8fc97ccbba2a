"""Long Telegram HTML cut into pages: each page within Telegram's limit and valid on its own
(checked by the sandbox's parser, as strict as Telegram), nothing lost, formatting carried
over, never a cut inside a tag or an entity."""

from __future__ import annotations

import re

import pytest

from bot.html_pages import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    shorten_html,
    split_html,
    utf16_len,
)
from bot.sandbox.html_check import parse_html, strip_text


def visible(html: str) -> str:
    return strip_text(parse_html(html)).text


def words(text: str) -> list[str]:
    return text.split()


def history(lines: int) -> str:
    """A ticket history as the templates write it: bold names, escaped customer text."""
    return "<b>Lịch sử</b>\n" + "".join(
        f"{n:02d}/11/2026 · <b>Lan</b>: Hộp bị móp &amp; trầy, giao trễ &lt;3 ngày&gt; lần {n}\n\n"
        for n in range(lines)
    )


def test_a_text_that_fits_is_one_page_as_it_is() -> None:
    html = "<b>Xin chào</b> &amp; cảm ơn"
    assert split_html(html) == [html]
    assert shorten_html(html) == html


@pytest.mark.parametrize("lines", [80, 300])
def test_every_page_parses_fits_and_together_they_say_everything(lines: int) -> None:
    html = history(lines)
    pages = split_html(html)
    assert len(pages) > 1
    for page in pages:
        assert 0 < utf16_len(visible(page)) <= TEXT_LIMIT
    assert words(" ".join(visible(p) for p in pages)) == words(visible(html))


def test_pages_end_at_a_blank_line_when_there_is_one() -> None:
    pages = split_html(history(80))
    for page in pages[:-1]:
        assert re.search(r"lần \d+$", visible(page)), visible(page)[-40:]


def test_a_tag_open_at_the_end_of_a_page_is_closed_and_opened_again() -> None:
    quote = (
        '<blockquote expandable><a href="https://shop.example/p?a=1&amp;b=2">'
        + ("chữ " * 2000)
        + "</a></blockquote>"
    )
    pages = split_html(quote)
    assert len(pages) == 2
    for page in pages:
        entities = parse_html(page).entities
        assert {e["type"] for e in entities} == {"expandable_blockquote", "text_link"}
        assert all(
            e.get("url", "https://shop.example/p?a=1&b=2") == "https://shop.example/p?a=1&b=2"
            for e in entities
        )
    assert pages[1].startswith(
        '<blockquote expandable><a href="https://shop.example/p?a=1&amp;b=2">'
    )


def test_a_text_without_spaces_is_cut_anywhere_but_inside_an_entity() -> None:
    html = "&lt;" * 5000
    pages = split_html(html)
    assert [utf16_len(visible(p)) for p in pages] == [4096, 904]
    assert all(re.fullmatch(r"(&lt;)+", p) for p in pages)


def test_characters_outside_the_basic_plane_count_twice_and_are_never_halved() -> None:
    html = "😀" * 3000  # 6000 UTF-16 code units
    pages = split_html(html)
    assert [utf16_len(visible(p)) for p in pages] == [4096, 1904]
    assert "".join(pages) == html


def test_a_caption_takes_what_fits_and_the_rest_follows_as_text() -> None:
    caption = "💬 <b>Lan</b> · KN-000001\n" + "Hộp bị móp, sản phẩm trầy xước. " * 60
    pages = split_html(caption, CAPTION_LIMIT, TEXT_LIMIT)
    assert len(pages) == 2
    assert utf16_len(visible(pages[0])) <= CAPTION_LIMIT
    assert words(visible(pages[0]) + " " + visible(pages[1])) == words(visible(caption))


def test_shortening_keeps_the_first_page_and_says_so() -> None:
    short = shorten_html("<i>" + "dài " * 3000 + "</i>")
    assert short.endswith("</i>…")
    assert utf16_len(visible(short)) <= TEXT_LIMIT


def test_whitespace_alone_is_no_page() -> None:
    assert split_html("   \n ") == []
    assert split_html("<b>a</b>" + "\n" * 5000 + "b") == ["<b>a</b>", "b"]
