"""Vectorised field encoders of the sample: numbers, dates and text → fixed-width byte matrices
(one uint8 row per record), and matrices → the truth's Arrow arrays.

Dates are int64 day numbers since 1970-01-01; ``NONE`` means "no date" (a blank field, a null).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NONE = -(10 ** 9)                      # "no date" sentinel


def day_number(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - dt.date(1970, 1, 1)).days


def digits_matrix(x: np.ndarray, width: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    p = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((x[:, None] // p) % 10 + 48).astype(np.uint8)


def bytes_matrix(values: list[bytes], width: int) -> np.ndarray:
    if not values:
        return np.empty((0, width), dtype=np.uint8)
    longest = max(map(len, values))
    if longest > width:
        bad = next(v for v in values if len(v) > width)
        raise ValueError(f"value {bad!r} is longer than the field ({width} bytes)")
    arr = np.array(values, dtype=f"S{width}")
    m = arr.view(np.uint8).reshape(len(values), width).copy()
    m[m == 0] = 0x20
    return m


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y, mo, dd


def western_matrix(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    none = days == NONE
    y, mo, dd = ymd(np.where(none, 0, days))
    m = np.empty((len(days), 8), dtype=np.uint8)
    m[:, 0:4] = digits_matrix(y, 4)
    m[:, 4:6] = digits_matrix(mo, 2)
    m[:, 6:8] = digits_matrix(dd, 2)
    m[none] = 0x20
    return m


def date_array(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    mask = days == NONE
    return pa.array(np.where(mask, 0, days).astype(np.int32), type=pa.date32(), mask=mask)


def matrix_strings(m: np.ndarray) -> pa.Array:
    """ASCII matrix rows → strings with trailing spaces trimmed (as the reader trims)."""
    if len(m) == 0:
        return pa.array([], type=pa.string())
    arr = np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()
    s = pa.array(arr, type=pa.binary()).cast(pa.string())
    return pc.utf8_rtrim(s, characters=" ")


def literal_strings(m: np.ndarray) -> pa.Array:
    """A written literal as the truth holds it: trimmed, blank → null."""
    s = matrix_strings(m)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def packed(value: int, nbytes: int) -> bytes:
    digits = str(abs(int(value))).zfill(nbytes * 2 - 1)
    if len(digits) > nbytes * 2 - 1:
        raise ValueError(f"{value} does not fit COMP-3 of {nbytes} bytes")
    nibbles = digits + ("D" if value < 0 else "C")
    return bytes.fromhex(nibbles)


def packed_matrix(values: np.ndarray, nbytes: int) -> np.ndarray:
    """COMP-3, sign nibble C (positive); values must be ≥ 0."""
    values = np.asarray(values, dtype=np.int64)
    nd = nbytes * 2 - 1
    d = digits_matrix(values, nd).astype(np.int64) - 48
    nib = np.concatenate([d, np.full((len(values), 1), 0xC, dtype=np.int64)], axis=1)
    return ((nib[:, 0::2] << 4) | nib[:, 1::2]).astype(np.uint8)


def digits_to_int(m: np.ndarray) -> np.ndarray:
    d = m.astype(np.int64) - 48
    out = np.zeros(len(m), dtype=np.int64)
    for j in range(m.shape[1]):
        out = out * 10 + d[:, j]
    return out


def blank_where(mask: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Rows of m, blank (0x20) where mask is true."""
    return np.where(mask[:, None], 0x20, m).astype(np.uint8)


def null_where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), values)


def conform(cols: dict[str, pa.Array], schema: pa.Schema, n: int) -> pa.Table:
    """The columns in the schema's order and types; missing columns are nulls."""
    arrays = []
    for f in schema:
        a = cols.get(f.name)
        if a is None:
            a = pa.nulls(n, f.type)
        elif not isinstance(a, (pa.Array, pa.ChunkedArray)):
            a = pa.array(a)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        arrays.append(a.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class RecordMatrix:
    """The records of one record type being assembled: one uint8 row each, fields by layout position."""

    def __init__(self, n: int, record_length: int, positions: dict[str, tuple[int, int]], code: bytes) -> None:
        self.m = np.full((n, record_length), 0x20, dtype=np.uint8)
        self.pos = positions
        self.m[:, 0] = code[0]

    def put(self, name: str, values: np.ndarray) -> None:
        s, ln = self.pos[name]
        self.m[:, s:s + ln] = values

    def field(self, name: str) -> np.ndarray:
        s, ln = self.pos[name]
        return self.m[:, s:s + ln]

    def width(self, name: str) -> int:
        return self.pos[name][1]
