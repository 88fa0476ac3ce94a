"""Modulus-11 check digits (weights 2–7 from the rightmost data digit, repeating) — the one copy.

宛名番号・世帯番号 (住民記録システム標準仕様書 1.1.13, j130) and 個人番号 (番号法施行令第8条)
use the same scheme: remainder r of Σ digit×weight by 11; check digit 0 when r ≤ 1, else 11 − r.

Everything else in the package (record stage, gate rules in polars, the sample generator, the
synthetic gate data, test helpers) calls the functions here: ``m11_check_digits`` is the
formula (vectorised over integers), the others are its scalar, Arrow and polars faces.
"""
from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.mapping.era_dates import literal_codes


def m11_check_digits(data: np.ndarray, n_data: int) -> np.ndarray:
    """Check digits of non-negative integers of (up to) `n_data` data digits, vectorised."""
    x = np.asarray(data, dtype=np.int64).copy()
    total = np.zeros(x.shape, dtype=np.int64)
    for i in range(n_data):                      # i = 0 is the rightmost data digit: weight 2
        total += (x % 10) * (2 + i % 6)
        x //= 10
    r = total % 11
    return np.where(r <= 1, 0, 11 - r)


def m11_check_digit(data_digits: str | int, n_data: int | None = None) -> int:
    """Check digit of one number: a digit string (its length is `n_data`) or an integer."""
    n = n_data if n_data is not None else len(str(data_digits))
    return int(m11_check_digits(np.array([int(data_digits)], dtype=np.int64), n)[0])


def m11_complete(data: np.ndarray, length: int) -> np.ndarray:
    """`length`-digit strings: the integers' `length`−1 data digits (zero-filled) and their check digit."""
    data = np.asarray(data, dtype=np.int64)
    check = m11_check_digits(data, length - 1)
    return np.char.add(np.char.zfill(data.astype(str), length - 1), check.astype(str))


def m11_valid(values: pa.Array, length: int) -> np.ndarray:
    """Mask of values that are `length` ASCII digits with a correct last digit; nulls count as valid."""
    codes, lengths = literal_codes(values, length)  # ASCII columns never become Python strings
    present = lengths > 0
    codes = codes.astype(np.int64) - 48
    is_digit = ((codes >= 0) & (codes <= 9)).all(axis=1) & (lengths == length)
    exact_len = pc.fill_null(pc.equal(pc.utf8_length(values), length), True).to_numpy(zero_copy_only=False)
    digits = np.where((codes >= 0) & (codes <= 9), codes, 0)
    data = digits[:, : length - 1] @ (10 ** np.arange(length - 2, -1, -1, dtype=np.int64))
    ok = is_digit & exact_len & (digits[:, length - 1] == m11_check_digits(data, length - 1))
    return ok | ~present


def m11_fails(col: str, length: int) -> pl.Expr:
    """polars: True where a present value is not `length` digits with a correct last digit."""
    s = pl.col(col).cast(pl.Utf8)
    v = s.cast(pl.Int64, strict=False)
    expected = (v // 10).fill_null(0).map_batches(
        lambda d: pl.Series(m11_check_digits(d.to_numpy(), length - 1)), return_dtype=pl.Int64)
    ok = (s.str.len_bytes() == length) & s.str.contains(r"^[0-9]+$") & ((v % 10) == expected)
    present = s.is_not_null() & (s != "")
    return (present & ~ok.fill_null(False)).fill_null(False)
