"""Voucher codes: unguessable (drawn with ``secrets``), easy to read aloud and type.

The alphabet leaves out what is misread or misheard: 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 6/G,
U/V. Ten characters of nineteen are 42 bits: guessing one code of a million issued takes
billions of tries. Shown in two groups of five (``K7RMX-EHT4P``); typed any way (case,
spaces, dashes).
"""

from __future__ import annotations

import secrets

ALPHABET = "ACEFHJKMNPRTWXY3479"
LENGTH = 10
GROUP = 5


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def normalise_code(text: str) -> str | None:
    """The stored form of a code someone typed, or None if it cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch not in " -_.")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{raw[:GROUP]}-{raw[GROUP:]}"
