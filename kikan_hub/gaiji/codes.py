"""Parsing and formatting of the many ways a character is written down.

``U+9AD9`` (MJ list), ``3404_E0101`` (Moji_Joho IVS in the MJ list), ``5F8A E0101`` (the
gaiji register's ``ucs`` column), ``J+4E00`` (住基ネット統一文字コード), ``F040`` (CP932 bytes).
"""
from __future__ import annotations

import re

from .errors import GaijiError

_HEX = re.compile(r"^(?:U\+)?([0-9A-Fa-f]{4,6})$")
PUA_MIN, PUA_MAX = 0xE000, 0xF8FF


def parse_ucs(text: str) -> str:
    """'U+9AD9' / '9AD9' → '髙'; '' → ''."""
    text = (text or "").strip()
    if not text:
        return ""
    m = _HEX.match(text)
    if not m:
        raise GaijiError(f"not a Unicode code point: {text!r} (expected U+XXXX)")
    return chr(int(m.group(1), 16))


def parse_sequence(text: str) -> str:
    """A code-point sequence: '5F8A E0101', '3404_E0101', 'U+5F8A U+E0101', '5F8A+E0101' → text."""
    text = (text or "").strip()
    if not text:
        return ""
    parts = [p for p in re.split(r"[\s_,;+]+", text.replace("U+", " ").replace("u+", " ")) if p]
    out = []
    for p in parts:
        if not re.fullmatch(r"[0-9A-Fa-f]{4,6}", p):
            raise GaijiError(f"not a code-point sequence: {text!r} (expected e.g. '5F8A E0101')")
        cp = int(p, 16)
        if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            raise GaijiError(f"invalid code point {p} in {text!r}")
        out.append(chr(cp))
    return "".join(out)


def format_sequence(text: str, sep: str = " ") -> str:
    """'髙' → '9AD9'; base + IVS → '5F8A E0101' (register style) or with sep='_' the MJ list style."""
    return sep.join(f"{ord(c):04X}" for c in text)


def format_ucs(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def split_ivs(seq: str) -> list[str]:
    """The MJ list's IVS cell: '2B9E4_E0100;535A_E010A' → ['2B9E4_E0100', '535A_E010A'] (normalised upper)."""
    return [s.strip().upper() for s in (seq or "").split(";") if s.strip()]


def is_variation_selector(ch: str) -> bool:
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def units(text: str) -> list[tuple[int, str]]:
    """Split text into (position, unit) where a unit is a character plus any variation selector."""
    out: list[tuple[int, str]] = []
    i = 0
    n = len(text)
    while i < n:
        j = i + 1
        while j < n and is_variation_selector(text[j]):
            j += 1
        out.append((i, text[i:j]))
        i = j
    return out


def is_pua(ch: str) -> bool:
    return PUA_MIN <= ord(ch) <= PUA_MAX


def normalise_mj(name: str) -> str:
    """'MJ028902', 'mj28902', '28902' → 'MJ028902'."""
    s = (name or "").strip().upper()
    m = re.fullmatch(r"(?:MJ)?0*(\d{1,6})", s)
    if not m:
        raise GaijiError(f"not an MJ文字図形名: {name!r} (expected MJ + 6 digits)")
    return f"MJ{int(m.group(1)):06d}"


def normalise_juki(code: str) -> str:
    s = (code or "").strip().upper().replace("＋", "+")
    m = re.fullmatch(r"J\+?([0-9A-F]{4})", s)
    if not m:
        raise GaijiError(f"not a 住基ネット統一文字コード: {code!r} (expected J+XXXX)")
    return f"J+{m.group(1)}"
