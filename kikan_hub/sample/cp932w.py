"""A CP932 encoder that writes what Windows (MultiByteToWideChar / WideCharToMultiByte, code page 932) writes.

CPython's ``cp932`` codec encodes 373 IBM-extension characters (ⅰ…ⅹ, 髙, 﨑, 德 …) to their
NEC-selected IBM-extension codes (lead bytes ED/EE). Windows and ICU's windows-932 table treat
those NEC-selected codes as decode-only and write the IBM-extension code (FA/FB/FC) instead.
A sample extract from a Windows-based vendor system must carry the FA/FB/FC codes.

The override table is derived, not copied: for every character whose CPython encoding starts
with ED or EE, the Windows code is the FA40–FC4B code that decodes to the same character.
(tests/sample compares it with the reference table enc/cp932_encode_python_vs_windows.tsv under KIKAN_REFERENCE_DATA.)
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def windows_overrides() -> dict[str, bytes]:
    ibm: dict[str, bytes] = {}
    for lead in (0xFA, 0xFB, 0xFC):
        for trail in list(range(0x40, 0x7F)) + list(range(0x80, 0xFD)):
            b = bytes((lead, trail))
            try:
                ch = b.decode("cp932")
            except UnicodeDecodeError:
                continue
            ibm.setdefault(ch, b)
    out: dict[str, bytes] = {}
    for ch, b in ibm.items():
        py = ch.encode("cp932")
        if py[0] in (0xED, 0xEE) and py != b:
            out[ch] = b
    return out


def encode(text: str) -> bytes:
    """Encode like Windows code page 932 (strict: unmappable characters raise)."""
    raw = text.encode("cp932")
    if b"\xed" not in raw and b"\xee" not in raw:      # bytes search, not a Python loop per byte
        return raw
    table = windows_overrides()
    return b"".join(table.get(ch) or ch.encode("cp932") for ch in text)
