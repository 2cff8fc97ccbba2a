"""Telegram HTML as the sandbox parses it: what is accepted, what is refused, how it counts."""

from __future__ import annotations

import pytest

from bot.sandbox.html_check import (
    EntityParseError,
    FormattedText,
    parse_html,
    strip_text,
    utf16_len,
)


def entity(kind: str, offset: int, length: int, **extra: str) -> dict:
    return {"type": kind, "offset": offset, "length": length, **extra}


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("Xin chào", "Xin chào", []),
        ("<b>Đậm</b> thường", "Đậm thường", [entity("bold", 0, 3)]),
        (
            "<strong>a</strong><i>b</i><em>c</em>",
            "abc",
            [entity("bold", 0, 1), entity("italic", 1, 1), entity("italic", 2, 1)],
        ),
        (
            "<u>a</u><ins>b</ins><s>c</s><strike>d</strike><del>e</del>",
            "abcde",
            [
                entity("underline", 0, 1),
                entity("underline", 1, 1),
                entity("strikethrough", 2, 1),
                entity("strikethrough", 3, 1),
                entity("strikethrough", 4, 1),
            ],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [entity("spoiler", 0, 1), entity("spoiler", 1, 1)],
        ),
        (
            '<a href="https://shop.vn/don/1?a=1&amp;b=2">Đơn 1</a>',
            "Đơn 1",
            [entity("text_link", 0, 5, url="https://shop.vn/don/1?a=1&b=2")],
        ),
        ("<code>KH001</code>", "KH001", [entity("code", 0, 5)]),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [entity("pre", 0, 5, language="python")],
        ),
        ("<blockquote>Trích</blockquote>", "Trích", [entity("blockquote", 0, 5)]),
        ("<blockquote expandable>Dài</blockquote>", "Dài", [entity("expandable_blockquote", 0, 3)]),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")],
        ),
        (
            "<b>đậm <i>nghiêng</i></b>",
            "đậm nghiêng",
            [entity("bold", 0, 11), entity("italic", 4, 7)],
        ),
        ("&lt;b&gt; &amp; &quot;x&quot;", '<b> & "x"', []),
        ("&#8363; &#x20AB;", "₫ ₫", []),
        ("1 &gt; 0 và 2 > 1", "1 > 0 và 2 > 1", []),  # a bare '>' is fine
        ("<B>hoa</B>", "hoa", [entity("bold", 0, 3)]),
        ("😀<b>x</b>", "😀x", [entity("bold", 2, 1)]),  # offsets in UTF-16 code units
        ("<b></b>rỗng", "rỗng", []),  # empty entities are dropped
    ],
)
def test_valid_html(html: str, text: str, entities: list[dict]) -> None:
    assert parse_html(html) == FormattedText(text, entities)


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<b>chưa đóng", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("a<br/>b", 'Unsupported start tag "br/" at byte offset 1'),
        ("<p>đoạn</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a<b", "Unclosed start tag at byte offset 1"),
        ("Tom & Jerry", 'Character "&" at byte offset 4 must be escaped as "&amp;"'),
        ("AT&T", 'Unsupported HTML entity "&T" at byte offset 2'),
        ("giá&nbsp;tốt", 'Unsupported HTML entity "&nbsp" at byte offset 4'),
        ("&#0;", 'Invalid character reference "&#0;" at byte offset 0'),
        ("<!-- ghi chú -->", 'Unsupported start tag "!--" at byte offset 0'),
        ("Đơn <b>1", 'Can\'t find end tag corresponding to start tag "b"'),
        ("Việt <x>", 'Unsupported start tag "x" at byte offset 7'),  # bytes, not characters (5)
        ("<tg-emoji>👍</tg-emoji>", "Invalid custom emoji identifier specified at byte offset 0"),
    ],
)
def test_invalid_html(html: str, description: str) -> None:
    with pytest.raises(EntityParseError) as raised:
        parse_html(html)
    assert str(raised.value) == description


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("abc", 3), ("Việt Nam", 8), ("😀", 2), ("👨‍👩‍👧", 8), ("₫", 1)],
)
def test_lengths_are_utf16_code_units(text: str, length: int) -> None:
    assert utf16_len(text) == length


@pytest.mark.parametrize(
    ("html", "length"),
    [
        ("<b>" + "a" * 4096 + "</b>", 4096),
        ("&lt;" * 1000, 1000),
        ('<a href="https://example.com/a/very/long/path">x</a>', 1),
        ("😀" * 10, 20),
    ],
)
def test_length_is_measured_after_parsing(html: str, length: int) -> None:
    assert utf16_len(parse_html(html).text) == length


def test_stripping_whitespace_moves_and_shortens_entities() -> None:
    parsed = parse_html("\n  <b> Xin</b> <i>chào </i>\n")
    assert strip_text(parsed) == FormattedText(
        "Xin chào", [entity("bold", 0, 3), entity("italic", 4, 4)]
    )
