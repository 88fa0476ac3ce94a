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


def _digits(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = codes.astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    return np.where((d >= 0) & (d <= 9), d, 0), ok


def _to_number(d: np.ndarray) -> np.ndarray:
    out = np.zeros(d.shape[0], dtype=np.int64)
    for i in range(d.shape[1]):
        out = out * 10 + d[:, i]
    return out


def parse_dates(values: pa.Array, fmt: str, era_codes: dict[str, str] | None = None,
                unknown_allowed: bool = False, unknown_text: pa.Array | None = None) -> ParsedDates:
    """Parse a column of date literals; fmt is western | era_code | era_letter."""
    eras, allowed = load_eras()
    n = len(values)
    lit = values.fill_null("").to_numpy(zero_copy_only=False).astype("U8")
    lengths = np.char.str_len(lit)
    empty = lengths == 0
    codes = lit.view(np.uint32).reshape(n, 8)
    reason = np.full(n, None, dtype=object)
    era_idx = np.full(n, -1, dtype=np.int64)
    bad_era = np.zeros(n, dtype=bool)

    if fmt == "western":
        d, ok = _digits(codes[:, :8])
        ok &= lengths == 8
        year, month, day = _to_number(d[:, :4]), _to_number(d[:, 4:6]), _to_number(d[:, 6:8])
        era_year = np.zeros(n, dtype=np.int64)
    elif fmt in ("era_code", "era_letter"):
        d, ok = _digits(codes[:, 1:7])
        ok &= lengths == 7
        keys = lit.astype("U1")  # the era code or letter
        if fmt == "era_code":
            table = {str(k): v for k, v in (era_codes or {}).items()}
            names = [e.name for e in eras]
            lookup = {k: names.index(v) for k, v in table.items() if v in names}
        else:
            lookup = {e.letter: i for i, e in enumerate(eras)}
        for k, idx in lookup.items():
            era_idx[keys == k] = idx
        era_year = _to_number(d[:, 0:2])
        month, day = _to_number(d[:, 2:4]), _to_number(d[:, 4:6])
        start_years = np.array([e.start.year for e in eras], dtype=np.int64)
        year = np.where(era_idx >= 0, start_years[np.maximum(era_idx, 0)] + era_year - 1, 0)
        bad_era = ok & (era_idx < 0) & ~empty
        reason[bad_era] = "元号コードが表にありません"
        ok &= era_idx >= 0
    else:
        raise ValueError(f"unknown date format {fmt!r}")

    bad_digits = ~ok & ~empty & (reason == None)  # noqa: E711 — element-wise test
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
    month_start = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1)
    days_in_month = ((month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(np.int64)
    non_calendar = cand & (dd > days_in_month)
    iso_days = month_start.astype("datetime64[D]") + (dd - 1)

    era_bad = np.zeros(n, dtype=bool)
    if fmt != "western":
        starts = np.array([np.datetime64(e.start) for e in eras])
        ends = np.array([np.datetime64(e.end) if e.end else np.datetime64("9999-12-31") for e in eras])
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
        txt = unknown_text.fill_null("").to_numpy(zero_copy_only=False)
        has_txt = np.array([bool(t) for t in txt], dtype=bool)
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
    iso = pa.array(np.where(valid_iso, iso_days, np.datetime64("NaT")), type=pa.date32(), mask=~valid_iso)
    literal_out = values.fill_null("")
    if unknown_text is not None:
        lit_list = np.where(has_txt, unknown_text.fill_null("").to_numpy(zero_copy_only=False),
                            literal_out.to_numpy(zero_copy_only=False))
        literal_out = pa.array(lit_list, type=pa.string())
    literal_out = pa.array(np.where(empty & ~has_txt, None, literal_out.to_numpy(zero_copy_only=False)), type=pa.string())
    return ParsedDates(iso=iso, literal=literal_out, unknown=pa.array(unknown & ~invalid), invalid=invalid, reason=reason)
