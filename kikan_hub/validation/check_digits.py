"""Modulus-11 check digits (weights 2–7 from the rightmost data digit, repeating).

宛名番号・世帯番号 (住民記録システム標準仕様書 1.1.13, j130) and 個人番号 (番号法施行令第8条)
use the same scheme: remainder r of Σ digit×weight by 11; check digit 0 when r ≤ 1, else 11 − r.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.mapping.era_dates import literal_codes


def m11_check_digit(data_digits: str) -> int:
    total = sum(int(ch) * (2 + i % 6) for i, ch in enumerate(reversed(data_digits)))
    r = total % 11
    return 0 if r <= 1 else 11 - r


def m11_valid(values: pa.Array, length: int) -> np.ndarray:
    """Mask of values that are `length` ASCII digits with a correct last digit; nulls count as valid."""
    codes, lengths = literal_codes(values, length)  # ASCII columns never become Python strings
    present = lengths > 0
    codes = codes.astype(np.int64) - 48
    is_digit = ((codes >= 0) & (codes <= 9)).all(axis=1) & (lengths == length)
    exact_len = pc.fill_null(pc.equal(pc.utf8_length(values), length), True).to_numpy(zero_copy_only=False)
    data = np.where((codes >= 0) & (codes <= 9), codes, 0)[:, : length - 1]
    weights = np.array([2 + i % 6 for i in range(length - 1)][::-1], dtype=np.int64)
    r = (data * weights).sum(axis=1) % 11
    expected = np.where(r <= 1, 0, 11 - r)
    ok = is_digit & exact_len & (codes[:, length - 1] == expected)
    return ok | ~present
