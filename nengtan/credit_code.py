"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters from a 31-character alphabet (no I, O, S, V, Z); the last one is a check
character over the first 17 with fixed weights, modulo 31.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def check_character(first17: str) -> str:
    """The 18th character for the given first 17 (raises on a character outside the alphabet)."""
    if len(first17) != 17:
        raise ValueError(f"need 17 characters, got {len(first17)}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def invalid_reason(code: str | None) -> str | None:
    """Why ``code`` is not a valid credit code, or None when it is."""
    if code is None or code == "":
        return "credit code is empty"
    if len(code) != 18:
        return f"credit code {code!r} has {len(code)} characters, expected 18"
    if not _SHAPE.match(code):
        return f"credit code {code!r} has characters outside GB 32100-2015's alphabet or a non-numeric division code"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"credit code {code!r} fails its check character (expected {expected!r})"
    return None


def is_valid(code: str | None) -> bool:
    return invalid_reason(code) is None
