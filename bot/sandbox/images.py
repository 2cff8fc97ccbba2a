"""Just enough about images for photos: their size, and small valid PNGs for users to send.

Telegram refuses a "photo" that is no image (IMAGE_PROCESS_FAILED) and reports the width
and height of every size it keeps, so the sandbox needs to read image headers. Simulated
users send real (blank) PNGs, so a bot that downloads and re-uploads them works.
"""

from __future__ import annotations

import struct
import zlib

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_FRAME_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE}

# Telegram keeps a photo in these sizes (longest side), never larger than the original.
PHOTO_SIDES = (90, 320, 800, 1280)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP image; None when it is none of these."""
    if data.startswith(_PNG_MAGIC) and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512  # the header varies by flavour; the size is not worth decoding
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 <= len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            if marker in _JPEG_FRAME_MARKERS:
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


def photo_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram would keep of a width x height photo, smallest first."""
    longest = max(width, height)
    sides = [side for side in PHOTO_SIDES if side < longest] + [min(longest, PHOTO_SIDES[-1])]
    return [
        (max(1, round(width * side / longest)), max(1, round(height * side / longest)))
        for side in sides
    ]


def blank_png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (a few hundred bytes: it compresses to nothing)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = (b"\x00" + b"\x80" * width) * height  # filter byte + pixels per row
    idat = zlib.compress(rows)
    return _PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
