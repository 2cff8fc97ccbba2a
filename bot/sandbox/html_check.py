"""Telegram's HTML parse mode, as strict as the Bot API documentation states it.

``parse_html`` turns a message written in Telegram HTML into the plain text and the
MessageEntity dicts Telegram would store, or raises ``EntityParseError`` with a description
worded like Telegram's ("Unsupported start tag "br" at byte offset 12", ...). Offsets and
lengths are in UTF-16 code units, as in the Bot API.

One rule is applied more strictly than Telegram's servers apply it: the documentation says
every '&' that does not start an entity must be written '&amp;', but the servers quietly
keep a bare '&'. The sandbox rejects it, so unescaped user input is caught in tests before
a customer named "A&lt" sees a mangled message.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import NoReturn

# Tag -> entity type. Telegram knows nothing else.
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# html.parser drops an '&' that starts an unterminated reference at the very end of the
# input ("AT&T"). A trailing sentinel character makes every reference end inside the text,
# so the parser reports it like any other; the sentinel is removed from the result.
_SENTINEL = "\x00"


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message reads like Telegram's description."""


@dataclass(frozen=True)
class FormattedText:
    """Plain text plus the entities that format it (Bot API MessageEntity dicts)."""

    text: str
    entities: list[dict]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: offsets and limits are in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> FormattedText:
    """Parse Telegram HTML; raises EntityParseError where Telegram answers 400."""
    parser = _TelegramHTML(source + _SENTINEL)
    parser.feed(source + _SENTINEL)
    parser.close()
    if parser.open_tags:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.open_tags[-1].name}"'
        )
    text = "".join(parser.parts)
    assert text.endswith(_SENTINEL)
    entities = [{k: v for k, v in e.items() if not k.startswith("_")} for e in parser.entities]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText(text[: -len(_SENTINEL)], entities)


def strip_text(formatted: FormattedText) -> FormattedText:
    """Drop leading and trailing whitespace the way Telegram does before storing a message,
    shortening or dropping the entities that covered it."""
    left_stripped = formatted.text.lstrip()
    shift = utf16_len(formatted.text) - utf16_len(left_stripped)
    text = left_stripped.rstrip()
    end = utf16_len(text)
    entities = []
    for entity in formatted.entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return FormattedText(text, entities)


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the parsed text where the tag's content starts
    attributes: dict[str, str | None]


class _TelegramHTML(HTMLParser):
    """Collects text and entities; every construct Telegram refuses raises at once."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 length of the text collected so far
        self.open_tags: list[_OpenTag] = []
        self.entities: list[dict] = []
        self._line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]

    # --- positions and errors -----------------------------------------------------------

    def _index(self, extra: int = 0) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column + extra

    def _fail(self, message: str, extra: int = 0) -> NoReturn:
        """Raise with "{at}" in the message replaced by the byte offset Telegram reports."""
        byte_offset = len(self.source[: self._index(extra)].encode())
        raise EntityParseError(message.replace("{at}", f"at byte offset {byte_offset}"))

    def _name_after_bracket(self, index: int) -> str:
        """The tag name Telegram would read after the '<' at index: up to a space or '>'."""
        end = index + 1
        while end < len(self.source) and self.source[end] not in " \t\n\r>":
            end += 1
        return self.source[index + 1 : end].replace(_SENTINEL, "")

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    # --- HTMLParser callbacks -----------------------------------------------------------

    def handle_data(self, data: str) -> None:
        for extra, char in enumerate(data):
            if char == "&":
                self._fail('Character "&" {at} must be escaped as "&amp;"', extra)
            if char == "<":
                following = data[extra + 1 : extra + 2]
                if following.isalpha():
                    self._fail("Unclosed start tag {at}", extra)
                if following == "/":
                    self._fail("Unclosed end tag {at}", extra)
                name = self._name_after_bracket(self._index(extra))
                self._fail(f'Unsupported start tag "{name}" {{at}}', extra)
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name}" {{at}}')
        self._append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self._fail(f'Invalid character reference "&#{name};" {{at}}')
        self._append(chr(code))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ENTITY_TYPES:
            self._fail(f'Unsupported start tag "{tag}" {{at}}')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler" {at}')
        if tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id") or ""
            if not emoji_id.isdigit() or int(emoji_id) == 0:
                self._fail("Invalid custom emoji identifier specified {at}")
        self.open_tags.append(_OpenTag(tag, self.length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Telegram reads "<br/>" as a tag named "br/"; no such tag exists.
        self._fail(f'Unsupported start tag "{tag}/" {{at}}')

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags:
            self._fail("Unexpected end tag {at}")
        top = self.open_tags.pop()
        if tag != top.name:
            self._fail(f'Unmatched end tag {{at}}, expected "</{top.name}>", found "</{tag}>"')
        self._close(top)

    def handle_comment(self, data: str) -> None:
        self._unsupported_markup()

    def handle_decl(self, decl: str) -> None:
        self._unsupported_markup()

    def unknown_decl(self, data: str) -> None:
        self._unsupported_markup()

    def handle_pi(self, data: str) -> None:
        self._unsupported_markup()

    def _unsupported_markup(self) -> None:
        name = self._name_after_bracket(self._index())
        self._fail(f'Unsupported start tag "{name}" {{at}}')

    # --- entities -----------------------------------------------------------------------

    def _close(self, tag: _OpenTag) -> None:
        length = self.length - tag.offset
        if length == 0:
            return  # Telegram keeps no empty entities
        entity: dict = {"type": _ENTITY_TYPES[tag.name], "offset": tag.offset, "length": length}
        attributes = tag.attributes
        if tag.name == "a":
            if not attributes.get("href"):
                return  # a link without a target formats nothing
            entity["url"] = attributes["href"]
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = attributes["emoji-id"]
        elif tag.name == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "code":
            css_class = attributes.get("class") or ""
            if css_class.startswith("language-"):
                entity["_language"] = css_class.removeprefix("language-")
        elif tag.name == "pre" and self.entities:
            # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
            last = self.entities[-1]
            same_span = (last["offset"], last["length"]) == (tag.offset, length)
            if last["type"] == "code" and same_span and last.get("_language"):
                self.entities[-1] = {**entity, "language": last["_language"]}
                return
        self.entities.append(entity)
