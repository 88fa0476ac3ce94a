"""Zoned and packed (COMP-3) decimals: vectorised decoders over n×w byte blocks, and encoders.

Zoned (one digit a byte): digit in the low nibble of each byte; the sign is carried by the
last byte.  Accepted digit bytes: ASCII 0x30–0x39 and EBCDIC 0xF0–0xF9.  Last byte:

* zone nibble C, F, A, E → positive; D, B → negative (EBCDIC 0xC0–0xC9 / 0xD0–0xD9 …);
* ASCII 0x30–0x39 → positive (unsigned), ASCII 0x70–0x79 (``p``–``y``) → negative;
* ASCII overpunch ``{ABCDEFGHI`` → +0…+9, ``}JKLMNOPQR`` → −0…−9.

The byte values of these forms do not collide, so one table decodes all of them.

Packed (COMP-3): two digits a byte, the last nibble is the sign (C/F/A/E positive, D/B
negative); a w-byte field holds 2w−1 digits.

Binary (COMP / BINARY / COMP-4 / COMP-5): 2, 4 or 8 bytes big-endian, two's complement when the
picture is signed (S9), the scale from the picture's V.

Decoders return ``(values int64, valid bool)``; values of invalid rows are 0.  Values must fit
18 digits (decimal128(18, scale)); longer non-zero values are invalid.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

MAX_DIGITS = 18
_POW10 = np.array([10 ** k for k in range(MAX_DIGITS + 1)], dtype=np.int64)

# Leading bytes: digit value or -1.
_ZONED_DIGIT = np.full(256, -1, dtype=np.int8)
# Last byte: digit value or -1, and sign (+1 / -1).
_ZONED_LAST_DIGIT = np.full(256, -1, dtype=np.int8)
_ZONED_LAST_SIGN = np.ones(256, dtype=np.int8)
for _d in range(10):
    _ZONED_DIGIT[0x30 + _d] = _d
    _ZONED_DIGIT[0xF0 + _d] = _d
    for _zone, _sign in ((0x3, 1), (0x7, -1), (0xF, 1), (0xC, 1), (0xA, 1), (0xE, 1), (0xD, -1), (0xB, -1)):
        _b = (_zone << 4) | _d
        _ZONED_LAST_DIGIT[_b] = _d
        _ZONED_LAST_SIGN[_b] = _sign
for _d, _ch in enumerate("{ABCDEFGHI"):
    _ZONED_LAST_DIGIT[ord(_ch)] = _d
    _ZONED_LAST_SIGN[ord(_ch)] = 1
for _d, _ch in enumerate("}JKLMNOPQR"):
    _ZONED_LAST_DIGIT[ord(_ch)] = _d
    _ZONED_LAST_SIGN[ord(_ch)] = -1
# 0xA0–0xA9 / 0xE0–0xE9 / 0xB0–0xB9 as last bytes are legal sign forms per the nibble rule, but
# 0xE0-0xE9 etc. never appear as digits elsewhere.

_PACKED_SIGN = np.zeros(16, dtype=np.int8)  # 0 = invalid
for _n, _s in ((0xC, 1), (0xF, 1), (0xA, 1), (0xE, 1), (0xD, -1), (0xB, -1)):
    _PACKED_SIGN[_n] = _s


def _as_block(block: np.ndarray | bytes, width: int | None = None) -> np.ndarray:
    if isinstance(block, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(block), dtype=np.uint8)
        return arr.reshape(-1, width if width else len(arr) or 1)
    return np.asarray(block, dtype=np.uint8)


def _digits_to_int(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """n×k digit matrix (0–9) → (int64 value, fits-18-digits mask)."""
    n, k = digits.shape
    fits = np.ones(n, dtype=bool)
    if k > MAX_DIGITS:
        fits = ~np.any(digits[:, : k - MAX_DIGITS] != 0, axis=1)
        digits = digits[:, k - MAX_DIGITS:]
        k = MAX_DIGITS
    weights = _POW10[:k][::-1]
    values = digits.astype(np.int64) @ weights if n else np.zeros(0, dtype=np.int64)
    return np.where(fits, values, 0), fits


def decode_zoned(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """n×w zoned block → (int64 unscaled values, valid mask)."""
    block = _as_block(block)
    n, w = block.shape
    if w == 0:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    lead = _ZONED_DIGIT[block[:, :-1]]
    last = block[:, -1]
    last_d = _ZONED_LAST_DIGIT[last]
    sign = _ZONED_LAST_SIGN[last].astype(np.int64)
    digits = np.concatenate([lead, last_d[:, None]], axis=1)
    valid = ~np.any(digits < 0, axis=1)
    digits = np.where(digits < 0, 0, digits)
    values, fits = _digits_to_int(digits)
    return values * sign, valid & fits


def decode_packed(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """n×w COMP-3 block → (int64 unscaled values, valid mask)."""
    block = _as_block(block)
    n, w = block.shape
    if w == 0:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    hi = (block >> 4).astype(np.int8)
    lo = (block & 0x0F).astype(np.int8)
    digits = np.empty((n, 2 * w - 1), dtype=np.int8)
    digits[:, 0::2] = hi
    digits[:, 1::2] = lo[:, :-1]
    sign = _PACKED_SIGN[lo[:, -1]]
    valid = (sign != 0) & ~np.any(digits > 9, axis=1)
    digits = np.where(digits > 9, 0, digits)
    values, fits = _digits_to_int(digits)
    return values * sign.astype(np.int64), valid & fits


def decode_binary(block: np.ndarray, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """n×w COMP / BINARY block (big-endian, w = 1, 2, 4 or 8) → (int64 values, valid mask).
    Unsigned 8-byte values above 2**63−1 and any value beyond 18 digits are invalid."""
    block = _as_block(block)
    n, w = block.shape
    if w not in (1, 2, 4, 8):
        raise ValueError(f"binary fields are 1, 2, 4 or 8 bytes, got {w}")
    kind = "i" if signed else "u"
    raw = np.ascontiguousarray(block).view(f">{kind}{w}").reshape(n)
    if w == 8 and not signed:
        valid = raw <= np.uint64(_POW10[MAX_DIGITS] - 1)
        values = np.where(valid, raw, 0).astype(np.int64)
    else:
        values = raw.astype(np.int64)
        valid = np.abs(values) < _POW10[MAX_DIGITS] if w == 8 else np.ones(n, dtype=bool)
        values = np.where(valid, values, 0)
    return values, valid


def encode_binary(value: int | Decimal | str, length: int, scale: int = 0, signed: bool = True) -> bytes:
    """Encode a number as COMP / BINARY: ``length`` bytes, big-endian, two's complement when signed."""
    v = _unscaled(value, scale)
    if v < 0 and not signed:
        raise ValueError(f"{value} is negative but the field is unsigned")
    try:
        return v.to_bytes(length, "big", signed=signed)
    except OverflowError:
        raise ValueError(f"{value} does not fit {length} binary bytes") from None


# --------------------------------------------------------------------------- encoders


def _unscaled(value: int | Decimal | str, scale: int) -> int:
    d = Decimal(value) if not isinstance(value, Decimal) else value
    q = d.scaleb(scale)
    if q != q.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(q)


def encode_zoned(value: int | Decimal | str, length: int, scale: int = 0, style: str = "ascii",
                 signed: bool = True) -> bytes:
    """Encode a number as zoned decimal.

    ``style``: ``ascii`` (digits 0x30–0x39, sign in the last byte's zone: 0x3 positive / 0x7
    negative), ``overpunch`` (ASCII ``{A…I`` / ``}J…R``), ``ebcdic`` (0xF0–0xF9, last zone C/D;
    F when ``signed`` is false).
    """
    v = _unscaled(value, scale)
    neg = v < 0
    s = str(abs(v)).rjust(length, "0")
    if len(s) > length:
        raise ValueError(f"{value} does not fit {length} zoned digits")
    if neg and not signed:
        raise ValueError(f"{value} is negative but the field is unsigned")
    head, last = s[:-1], int(s[-1])
    if style == "ebcdic":
        body = bytes(0xF0 + int(c) for c in head)
        zone = 0xD if neg else (0xC if signed else 0xF)
        return body + bytes([(zone << 4) | last])
    body = head.encode("ascii")
    if style == "overpunch":
        return body + ("}JKLMNOPQR" if neg else "{ABCDEFGHI")[last].encode("ascii")
    if style == "ascii":
        return body + bytes([((0x7 if neg else 0x3) << 4) | last])
    raise ValueError(f"unknown zoned style {style!r} (ascii, overpunch, ebcdic)")


def encode_packed(value: int | Decimal | str, length: int, scale: int = 0, signed: bool = True) -> bytes:
    """Encode a number as COMP-3 in ``length`` bytes (2·length−1 digits, sign C/D, F when unsigned)."""
    v = _unscaled(value, scale)
    neg = v < 0
    if neg and not signed:
        raise ValueError(f"{value} is negative but the field is unsigned")
    s = str(abs(v)).rjust(2 * length - 1, "0")
    if len(s) > 2 * length - 1:
        raise ValueError(f"{value} does not fit {length} packed bytes")
    nibbles = [int(c) for c in s] + [0xD if neg else (0xC if signed else 0xF)]
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def to_decimal(unscaled: int, scale: int) -> Decimal:
    return Decimal(unscaled).scaleb(-scale)
