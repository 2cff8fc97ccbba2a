"""Telegram HTML of any length, cut into messages Telegram takes.

Telegram refuses a message longer than 4096 characters and a caption longer than 1024
(counted in UTF-16 code units, after the HTML is parsed): a ticket's history, a customer
card or a staff answer with a photo can be longer. Here such a text is cut into pages:
at a blank line if one is in the second half of the page, else at a line break, else at
a space, and only as a last resort in the middle of a word; never inside a tag or an
entity (``&amp;``). A tag open where a page ends is closed there and opened again, with
its attributes, at the top of the next page, so every page is valid HTML on its own and
the formatting carries on. Where only one message fits (an edit), ``shorten_html`` keeps
the first page and ends it with "…".

``send_html`` and ``send_photo_html`` send through a Bot, buttons under the last part.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"

# What a page may end on, best first: a blank line, a line break, a space.
PARAGRAPH, LINE, WORD = 3, 2, 1


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Unit:
    """One indivisible piece of the HTML: a character, an entity, or a tag."""

    raw: str
    width: int = 0  # visible UTF-16 length; 0 for tags
    char: str = ""  # the visible character ("" for tags)
    opens: str | None = None  # tag name, for a start tag
    closes: str | None = None  # tag name, for an end tag


class _Units(HTMLParser):
    """Reads HTML into units, keeping every tag's and entity's source text as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.units: list[_Unit] = []

    def handle_data(self, data: str) -> None:
        self.units.extend(_Unit(c, utf16_len(c), c) for c in data)

    def handle_entityref(self, name: str) -> None:
        visible = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, "?")
        self.units.append(_Unit(f"&{name};", 1, visible))

    def handle_charref(self, name: str) -> None:
        try:
            visible = chr(int(name[1:], 16) if name[:1] in "xX" else int(name))
        except (ValueError, OverflowError):
            visible = "?"
        self.units.append(_Unit(f"&#{name};", utf16_len(visible), visible))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.units.append(_Unit(self.get_starttag_text() or f"<{tag}>", opens=tag))

    def handle_endtag(self, tag: str) -> None:
        self.units.append(_Unit(f"</{tag}>", closes=tag))


def _units(html: str) -> list[_Unit]:
    parser = _Units()
    parser.feed(html)
    parser.close()
    return parser.units


@dataclass(frozen=True)
class _Break:
    """A place a page may end: after unit ``at`` (exclusive index), with the tags open."""

    at: int
    length: int  # visible length of the page up to here
    open_tags: tuple[_Unit, ...]
    quality: int


def split_html(html: str, first: int = TEXT_LIMIT, then: int | None = None) -> list[str]:
    """Pages of ``html``: the first at most ``first`` characters long, the others at most
    ``then`` (``first`` if not given), each valid HTML on its own."""
    then = then or first
    if utf16_len(html) <= first:  # the markup only adds length: it fits as it is
        return [html] if html.strip() else []
    units = _units(html)
    pages: list[str] = []
    start, open_tags = 0, ()
    while start < len(units):
        limit = first if not pages else then
        page, start, open_tags = _page(units, start, open_tags, limit)
        if page is not None:
            pages.append(page)
    return pages


def _page(
    units: list[_Unit], start: int, reopened: tuple[_Unit, ...], limit: int
) -> tuple[str | None, int, tuple[_Unit, ...]]:
    """The page that begins at ``units[start]`` under the tags ``reopened``: its HTML (None
    if it holds nothing visible), where the next page begins and the tags open there."""
    open_tags = list(reopened)
    length = 0
    breaks: list[_Break] = []
    content = False  # anything visible but whitespace yet
    previous = ""
    index = start
    end: tuple[int, tuple[_Unit, ...]] | None = None
    while index < len(units):
        unit = units[index]
        if unit.opens is not None:
            open_tags.append(unit)
        elif unit.closes is not None:
            if open_tags and open_tags[-1].opens == unit.closes:
                open_tags.pop()
        elif length + unit.width > limit:
            end = _best_break(breaks, length, limit) or (index, tuple(open_tags))
            break
        else:
            if not content and unit.char.isspace():  # a page does not begin with blanks
                start += 1 if index == start else 0
            else:
                content = content or not unit.char.isspace()
                length += unit.width
                if unit.char == "\n":
                    quality = PARAGRAPH if previous == "\n" else LINE
                    breaks.append(_Break(index + 1, length, tuple(open_tags), quality))
                elif unit.char == " ":
                    breaks.append(_Break(index + 1, length, tuple(open_tags), WORD))
            previous = unit.char
        index += 1
    stop, closing = end if end is not None else (len(units), tuple(open_tags))
    body = _trimmed(units[start:stop])
    if not content or not body:
        return None, stop, closing
    html = (
        "".join(u.raw for u in reopened)
        + body
        + "".join(f"</{u.opens}>" for u in reversed(closing))
    )
    return html, stop, closing


def _best_break(breaks: list[_Break], length: int, limit: int) -> tuple[int, tuple] | None:
    """The latest break of the best kind in the second half of the page, else the latest."""
    if not breaks:
        return None
    late = [b for b in breaks if b.length >= limit // 2]
    best = max(late, key=lambda b: (b.quality, b.at)) if late else breaks[-1]
    return best.at, best.open_tags


def _trimmed(units: list[_Unit]) -> str:
    """The units' HTML without the blanks at the very end (Telegram drops them)."""
    stop = len(units)
    while stop and units[stop - 1].char.isspace() and units[stop - 1].width:
        stop -= 1
    return "".join(u.raw for u in units[:stop])


def shorten_html(html: str, limit: int = TEXT_LIMIT) -> str:
    """``html`` if it fits in one message, else its first page ending in "…"."""
    pages = split_html(html, limit - len(ELLIPSIS))
    if len(pages) <= 1:
        return html
    return pages[0] + ELLIPSIS


async def send_html(
    bot: Bot,
    chat_id: int,
    html: str,
    *,
    reply_markup: Any = None,
    reply_to: int | None = None,
) -> Message:
    """Send HTML of any length as one message or several (each replying to ``reply_to``),
    the buttons under the last; returns the last."""
    pages = split_html(html) or [html]  # an empty text: let Telegram say so
    message: Message | None = None
    for number, page in enumerate(pages, 1):
        last = number == len(pages)
        message = await bot.send_message(
            chat_id,
            page,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup if last else None,
            reply_to_message_id=reply_to,
        )
    assert message is not None
    return message


async def send_photo_html(
    bot: Bot,
    chat_id: int,
    photo: Any,
    caption: str,
    *,
    reply_markup: Any = None,
    reply_to: int | None = None,
) -> Message:
    """Send a photo with an HTML caption of any length: what fits in a caption under the
    photo, the rest as messages replying to it, the buttons under the last part.
    Returns the photo's message."""
    pages = split_html(caption, CAPTION_LIMIT, TEXT_LIMIT)
    head, rest = (pages[0], pages[1:]) if pages else (None, [])
    sent = await bot.send_photo(
        chat_id,
        photo,
        caption=head,
        parse_mode=ParseMode.HTML if head else None,
        reply_markup=None if rest else reply_markup,
        reply_to_message_id=reply_to,
    )
    for number, page in enumerate(rest, 1):
        await bot.send_message(
            chat_id,
            page,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup if number == len(rest) else None,
            reply_to_message_id=sent.message_id,
        )
    return sent
