"""Vectorised parsing of legacy date literals: western YYYYMMDD, era code + YYMMDD, letter eras.

The literal is always kept. A 不詳日 (month or day 00, or a separate 不詳 text) and a
non-calendar family-register date (2月29日 in a common year) are kept as such — flagged
unknown with no ISO date — where the item allows them (j80), and are errors elsewhere.
An era date outside its era (昭和64年1月8日, 平成31年5月1日) is always an error.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

ERAS_FILE = Path(__file__).with_name("eras.yaml")


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: dt.date
    end: dt.date | None  # first day of the next era


@lru_cache(maxsize=1)
def load_eras() -> tuple[tuple[Era, ...], frozenset[tuple[str, int, int, int]]]:
    data = yaml.safe_load(ERAS_FILE.read_text(encoding="utf-8"))
    raw = data["eras"]
    eras = []
    for i, e in enumerate(raw):
        end = raw[i + 1]["start"] if i + 1 < len(raw) else None
        eras.append(Era(e["name"], e["letter"], e["start"], end))
    allowed = frozenset((a["era"], a["year"], a["month"], a["day"]) for a in data.get("allowed_overlaps", []))
    return tuple(eras), allowed


@dataclass
class ParsedDates:
    iso: pa.Array          # date32, null where unknown/invalid/empty
    literal: pa.Array      # string, the source literal (or the 不詳 text)
    unknown: pa.Array      # bool
    invalid: np.ndarray    # bool mask
    reason: np.ndarray     # object array of messages (None where valid)


def _digits(codes: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Each column's digit value (0 where not a digit) and whether every column holds a digit.
    Column by column: numpy is slow across a handful of narrow columns at once."""
    ok = np.ones(codes.shape[0], dtype=bool)
    digits = []
    for k in range(codes.shape[1]):
        d = codes[:, k] - codes.dtype.type(48)  # unsigned: anything below "0" wraps past 9
        is_digit = d <= 9
        ok &= is_digit
        digits.append(np.where(is_digit, d, 0))
    return digits, ok


def _to_number(digits: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(digits[0]), dtype=np.int64)
    for d in digits:
        out = out * 10 + d
    return out


def _ascii_codes(values: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Straight from the Arrow buffers: (n×width bytes of values cut to ``width``, full length),
    nulls empty — or None when a byte is NUL or non-ASCII (then bytes are not characters)."""
    strings = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    if not isinstance(values, pa.Array) or not strings:
        return None
    n = len(values)
    _, obuf, dbuf = values.buffers()
    odt = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(obuf, dtype=odt)[values.offset:values.offset + n + 1].astype(np.int64)
    data = np.frombuffer(dbuf, dtype=np.uint8) if dbuf is not None else np.zeros(0, np.uint8)
    used = data[offsets[0]:offsets[-1]] if n else data[:0]
    if len(used) and (used.max() >= 0x80 or used.min() == 0):
        return None
    lengths = np.diff(offsets)
    if values.null_count:
        lengths = np.where(values.is_valid().to_numpy(zero_copy_only=False), lengths, 0)
    padded = np.concatenate([data, np.zeros(width, np.uint8)])  # every value start has width bytes after it
    # One overlapping width-byte item per byte position: picking the value starts copies each at once.
    items = np.ndarray((len(padded) - width + 1,), dtype=f"V{width}", buffer=padded, strides=(1,))
    windows = items[offsets[:-1]].view(np.uint8).reshape(n, width)
    for k in range(width):  # clear the bytes past each value's end (the next value's)
        windows[:, k] *= lengths > k
    return windows, lengths


def literal_codes(values: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the values as numpy's ``U<width>`` sees them (cut to ``width`` characters,
    trailing NULs dropped, nulls empty) and their lengths; ASCII columns skip Python strings.
    A value longer than ``width`` keeps its full length, so a cut value never passes as one of
    exactly ``width`` characters (``"202401019"`` is not the date 2024-01-01)."""
    fast = _ascii_codes(values, width)
    if fast is not None:
        return fast
    lit = values.fill_null("").to_numpy(zero_copy_only=False).astype(f"U{width}")
    full = pc.fill_null(pc.utf8_length(values), 0).to_numpy(zero_copy_only=False)
    return lit.view(np.uint32).reshape(len(values), width), np.where(full > width, full, np.char.str_len(lit))


def _first_char_is(codes: np.ndarray, key: str) -> np.ndarray:
    """Rows whose first character (numpy ``U1``: NUL is no character) equals ``key``."""
    key = key.rstrip("\0")
    if len(key) > 1:
        return np.zeros(codes.shape[0], dtype=bool)
    return codes[:, 0] == (ord(key) if key else 0)


def _days_from_civil(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 to the first of month m of year y (proleptic Gregorian, as numpy's
    datetime64), in integer arithmetic: numpy's calendar unit casts are slow."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def parse_dates(values: pa.Array, fmt: str, era_codes: dict[str, str] | None = None,
                unknown_allowed: bool = False, unknown_text: pa.Array | None = None) -> ParsedDates:
    """Parse a column of date literals; fmt is western | era_code | era_letter."""
    eras, allowed = load_eras()
    n = len(values)
    codes, lengths = literal_codes(values, 8)
    empty = lengths == 0
    reason = np.full(n, None, dtype=object)
    era_idx = np.full(n, -1, dtype=np.int64)
    bad_era = np.zeros(n, dtype=bool)

    if fmt == "western":
        d, ok = _digits(codes[:, :8])
        ok &= lengths == 8
        year, month, day = _to_number(d[:4]), _to_number(d[4:6]), _to_number(d[6:8])
        era_year = np.zeros(n, dtype=np.int64)
    elif fmt in ("era_code", "era_letter"):
        d, ok = _digits(codes[:, 1:7])
        ok &= lengths == 7
        if fmt == "era_code":
            table = {str(k): v for k, v in (era_codes or {}).items()}
            names = [e.name for e in eras]
            lookup = {k: names.index(v) for k, v in table.items() if v in names}
        else:
            lookup = {e.letter: i for i, e in enumerate(eras)}
        for k, idx in lookup.items():  # the era code or letter
            era_idx[_first_char_is(codes, k)] = idx
        era_year = _to_number(d[0:2])
        month, day = _to_number(d[2:4]), _to_number(d[4:6])
        start_years = np.array([e.start.year for e in eras], dtype=np.int64)
        year = np.where(era_idx >= 0, start_years[np.maximum(era_idx, 0)] + era_year - 1, 0)
        bad_era = ok & (era_idx < 0) & ~empty
        reason[bad_era] = "元号コードが表にありません"
        ok &= era_idx >= 0
    else:
        raise ValueError(f"unknown date format {fmt!r}")

    bad_digits = ~ok & ~empty & ~bad_era  # a row gets one reason
    reason[bad_digits] = "年月日が数字の形式ではありません"

    partial = ok & ((month == 0) | (day == 0))              # 不詳日 written with 00
    if fmt != "western":
        partial |= ok & (era_year == 0) & (month == 0) & (day == 0)
    range_bad = ok & ~partial & ((month > 12) | (day > 31) | ((fmt != "western") & (era_year == 0)))
    reason[range_bad] = "月日の値が範囲外です"
    cand = ok & ~partial & ~range_bad

    y = np.where(cand, year, 1970)
    m = np.where(cand, month, 1)
    dd = np.where(cand, day, 1)
    month_start = _days_from_civil(y, m)
    non_calendar = np.zeros(n, dtype=bool)
    late = np.flatnonzero(cand & (dd > 28))  # every month has 28 days: only these can overrun
    if len(late):
        yl, ml = y[late], m[late]
        non_calendar[late] = dd[late] > _days_from_civil(yl + (ml == 12), ml % 12 + 1) - month_start[late]
    iso_days = month_start + (dd - 1)  # days since 1970-01-01

    era_bad = np.zeros(n, dtype=bool)
    if fmt != "western":
        starts = np.array([np.datetime64(e.start, "D").astype(np.int64) for e in eras])
        ends = np.array([np.datetime64(e.end if e.end else "9999-12-31", "D").astype(np.int64) for e in eras])
        ei = np.maximum(era_idx, 0)
        # Compare on (y, m, d) so non-calendar dates still get their era checked.
        outside = cand & ((iso_days < starts[ei]) | (iso_days >= ends[ei]))
        if outside.any():
            names = np.array([e.name for e in eras])
            for i in np.flatnonzero(outside):
                if (names[ei[i]], int(era_year[i]), int(month[i]), int(day[i])) in allowed:
                    outside[i] = False
        era_bad = outside
        for i in np.flatnonzero(era_bad):
            e = eras[ei[i]]
            reason[i] = f"{e.name}{int(era_year[i])}年{int(month[i])}月{int(day[i])}日は{e.name}の期間外です"

    unknown = partial | non_calendar
    if unknown_text is not None:
        has_txt = pc.fill_null(pc.greater(pc.binary_length(unknown_text), 0), False).to_numpy(zero_copy_only=False)
        unknown = unknown | (has_txt & ~era_bad & ~range_bad)
    else:
        has_txt = np.zeros(n, dtype=bool)
    invalid = bad_digits | bad_era | range_bad | era_bad
    if not unknown_allowed:
        nc = unknown & ~invalid
        reason[nc & non_calendar] = "暦上に存在しない日付です"
        reason[nc & ~non_calendar] = "不詳日はこの項目では許されません"
        invalid = invalid | nc
    valid_iso = cand & ~non_calendar & ~era_bad & ~unknown & ~invalid
    iso = pa.array(np.where(valid_iso, iso_days, 0).astype(np.int32), type=pa.date32(), mask=~valid_iso)
    literal_out = values.fill_null("").cast(pa.string())
    if unknown_text is not None:
        literal_out = pc.if_else(pa.array(has_txt), unknown_text.fill_null("").cast(pa.string()), literal_out)
    literal_out = pc.if_else(pa.array(empty & ~has_txt), pa.scalar(None, pa.string()), literal_out)
    return ParsedDates(iso=iso, literal=literal_out, unknown=pa.array(unknown & ~invalid), invalid=invalid, reason=reason)
