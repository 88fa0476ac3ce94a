"""Zoned (ASCII, overpunch, EBCDIC) and packed decimals: decoders against encoders, signs, bad nibbles."""
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, strategies as st

from kikan_hub.adapters.numbers import (decode_packed, decode_zoned, encode_packed, encode_zoned)


def block(*values: bytes) -> np.ndarray:
    return np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)


def test_zoned_forms():
    vals, ok = decode_zoned(block(b"00123", b"0012L", b"0012{", b"0012}", b"0012A", b"\xf0\xf0\xf1\xf2\xc3",
                                  b"\xf0\xf0\xf1\xf2\xd3", b"\xf0\xf0\xf1\xf2\xf3", b"0012s", b"\xf0\xf0\xf1\xf2\xb3"))
    assert ok.all()
    assert vals.tolist() == [123, -123, 120, -120, 121, 123, -123, 123, -123, -123]


def test_zoned_invalid():
    vals, ok = decode_zoned(block(b"00 23", b"0012X", b"  123", b"\x00\x00\x00\x00\x00"))
    assert not ok.any()


def test_packed():
    vals, ok = decode_packed(block(b"\x00\x12\x3c", b"\x00\x12\x3d", b"\x00\x12\x3f", b"\x99\x99\x9b",
                                   b"\x00\x1a\x3c", b"\x00\x12\x37", b"\x00\x00\x00"))
    assert vals[:4].tolist() == [123, -123, 123, -99999]
    assert ok.tolist() == [True, True, True, True, False, False, False]


def test_packed_too_many_digits():
    vals, ok = decode_packed(block(b"\x99" * 9 + b"\x9c", b"\x09" + b"\x99" * 8 + b"\x9c"))
    assert ok.tolist() == [False, True]
    assert vals[1] == 999999999999999999


@given(st.integers(-(10 ** 9 - 1), 10 ** 9 - 1), st.integers(0, 4))
def test_round_trip(v, scale):
    for style in ("ascii", "overpunch", "ebcdic"):
        b = encode_zoned(Decimal(v).scaleb(-scale), 10, scale, style=style)
        vals, ok = decode_zoned(block(b))
        assert ok[0] and vals[0] == v, (style, b)
    b = encode_packed(Decimal(v).scaleb(-scale), 6, scale)
    vals, ok = decode_packed(block(b))
    assert ok[0] and vals[0] == v


def test_encoders_reject_overflow():
    with pytest.raises(ValueError):
        encode_packed(1000, 2)
    with pytest.raises(ValueError):
        encode_zoned(123456, 5)
    with pytest.raises(ValueError):
        encode_zoned("1.234", 5, scale=2)
