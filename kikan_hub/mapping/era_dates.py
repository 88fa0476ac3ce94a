"""Vectorised parsing of legacy date literals in a form declared per field.

Named forms: ``western`` (YYYYMMDD), ``era_code`` (era code + YYMMDD, codes per source system),
``era_letter`` (M/T/S/H/R + YYMMDD) — read straight off the Arrow buffers — and ``kanji``
(昭和25年3月15日, 令和元年5月1日, full-width digits too). Any other form is a pattern of tokens:
``YYYY`` western year, ``YY`` / ``Y`` era year (two digits / one or two digits or 元), ``MM`` / ``M``,
``DD`` / ``D``, ``E`` era code, ``G`` era letter, ``N`` era name (昭和 …); every other character is
itself: ``GYY.MM.DD`` (S25.03.15), ``YYYY/MM/DD`` (2019/05/01), ``EYYMMDD`` (4250315). A pattern is
matched by one Arrow regex over the column, on the text the reader decoded from the original bytes.

The literal is always kept as written, with beside it the date as 和暦 text (昭和45年2月29日). A 不詳日 (month or day 00, or a separate 不詳 text) and a
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
    literal: pa.Array      # string, the source literal as written (or the 不詳 text)
    unknown: pa.Array      # bool: no ISO date although the literal is kept (unknown_day or non_calendar)
    invalid: np.ndarray    # bool mask
    reason: np.ndarray     # object array of messages (None where valid)
    unknown_day: pa.Array | None = None    # bool: 不詳日 (a part written 00, or a 不詳 text)
    non_calendar: pa.Array | None = None   # bool: a date the calendar lacks (2月30日), kept per j80
    wareki: pa.Array | None = None         # string: 和暦 text (昭和45年2月29日, 昭和45年2月日不詳, the 不詳 text)


NAMED_FORMS = {"western": "YYYYMMDD", "era_code": "EYYMMDD", "era_letter": "GYYMMDD", "kanji": "NY年M月D日"}
_FAST = ("western", "era_code", "era_letter")   # fixed-width ASCII: read straight off the Arrow buffers
_TOKENS = ("YYYY", "YY", "Y", "MM", "M", "DD", "D", "E", "G", "N")


@dataclass(frozen=True)
class DatePattern:
    regex: str
    western: bool          # YYYY (else an era year with E, G or N)
    era_token: str         # "E" | "G" | "N" | ""
    nfkc: bool             # full-width digits are read as digits (kanji forms)


@lru_cache(maxsize=64)
def compile_pattern(fmt: str, era_codes: tuple[tuple[str, str], ...] = ()) -> DatePattern:
    """A date form (a named one or a token pattern) → the regex that reads it; ValueError says why not."""
    import re

    pattern = NAMED_FORMS.get(fmt, fmt)
    eras, _ = load_eras()
    out, seen, i = [], [], 0
    groups = {"YYYY": r"(?P<y>[0-9]{4})", "YY": r"(?P<ey>[0-9]{2})", "Y": r"(?P<ey>元|[0-9]{1,2})",
              "MM": r"(?P<m>[0-9]{2})", "M": r"(?P<m>[0-9]{1,2})", "DD": r"(?P<d>[0-9]{2})", "D": r"(?P<d>[0-9]{1,2})",
              "E": "(?P<e>" + "|".join(re.escape(k) for k, _ in sorted(era_codes, key=lambda kv: -len(kv[0]))) + ")",
              "G": "(?P<g>" + "|".join(re.escape(e.letter) for e in eras) + ")",
              "N": "(?P<n>" + "|".join(re.escape(e.name) for e in eras) + ")"}
    while i < len(pattern):
        tok = next((t for t in _TOKENS if pattern.startswith(t, i)), None)
        if tok is None:
            out.append(re.escape(pattern[i]))
            i += 1
            continue
        kind = tok[0]
        if kind in (t[0] for t in seen):
            raise ValueError(f"date pattern {fmt!r}: {tok} appears twice")
        if tok == "E" and not era_codes:
            raise ValueError(f"date pattern {fmt!r}: E (era code) needs era_codes in the layout")
        seen.append(tok)
        out.append(groups[tok])
        i += len(tok)
    kinds = {t[0] for t in seen}
    western = "YYYY" in seen
    era_token = next((t for t in ("E", "G", "N") if t in seen), "")
    if not {"M", "D"} <= kinds or "Y" not in kinds:
        raise ValueError(f"date pattern {fmt!r} needs a year, a month and a day "
                         f"(tokens YYYY or YY/Y, MM or M, DD or D, E/G/N for the era; e.g. GYY.MM.DD, YYYY/MM/DD)")
    if western == bool(era_token) or len([t for t in ("E", "G", "N") if t in seen]) > 1:
        raise ValueError(f"date pattern {fmt!r}: a western year (YYYY) takes no era; an era year (YY, Y) takes "
                         f"exactly one of E (code), G (letter), N (name)")
    return DatePattern("^" + "".join(out) + "$", western, era_token, nfkc=not pattern.isascii())


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


def _pattern_parts(values: pa.Array, pat: DatePattern, era_codes: dict[str, str] | None, eras) -> tuple:
    """(ok, empty, year, era_year, month, day, era_idx, bad_era) for a token pattern, by one Arrow regex."""
    n = len(values)
    text = values.cast(pa.string())
    if pat.nfkc:
        text = pc.utf8_normalize(text, "NFKC")  # ２５ → 25 (元 and the era names are left as they are)
    empty = pc.fill_null(pc.equal(pc.utf8_length(text), 0), True).to_numpy(zero_copy_only=False)
    m = pc.extract_regex(text, pat.regex)
    ok = m.is_valid().to_numpy(zero_copy_only=False) & ~empty

    def number(name: str) -> np.ndarray:
        col = m.field(name)
        col = pc.if_else(m.is_valid(), col, pa.scalar(None, pa.string()))  # a row that did not match holds ""
        if name == "ey":
            col = pc.replace_substring(col, "元", "1")
        return pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy(zero_copy_only=False)

    month, day = number("m"), number("d")
    era_idx = np.full(n, -1, dtype=np.int64)
    bad_era = np.zeros(n, dtype=bool)
    if pat.western:
        year, era_year = number("y"), np.zeros(n, dtype=np.int64)
    else:
        era_year = number("ey")
        names = [e.name for e in eras]
        if pat.era_token == "E":
            keys = {str(k): names.index(v) for k, v in (era_codes or {}).items() if v in names}
            field = "e"
        elif pat.era_token == "G":
            keys, field = {e.letter: i for i, e in enumerate(eras)}, "g"
        else:
            keys, field = {e.name: i for i, e in enumerate(eras)}, "n"
        pos = pc.index_in(pc.if_else(m.is_valid(), m.field(field), pa.scalar(None, pa.string())),
                          value_set=pa.array(list(keys), pa.string()))
        lut = np.array(list(keys.values()) + [-1], dtype=np.int64)
        era_idx = lut[pc.fill_null(pos, len(keys)).to_numpy(zero_copy_only=False)]
        bad_era = ok & (era_idx < 0)
        start_years = np.array([e.start.year for e in eras], dtype=np.int64)
        year = np.where(era_idx >= 0, start_years[np.maximum(era_idx, 0)] + era_year - 1, 0)
        ok &= era_idx >= 0
    return ok, empty, year, era_year, month, day, era_idx, bad_era


def parse_dates(values: pa.Array, fmt: str, era_codes: dict[str, str] | None = None,
                unknown_allowed: bool = False, unknown_text: pa.Array | None = None,
                wareki: bool = False) -> ParsedDates:
    """Parse a column of date literals in the declared form (a named form or a token pattern, see the
    module docstring). ``wareki``: also give the 和暦 text of each date (for wareki_date items)."""
    eras, allowed = load_eras()
    n = len(values)
    reason = np.full(n, None, dtype=object)
    era_idx = np.full(n, -1, dtype=np.int64)
    bad_era = np.zeros(n, dtype=bool)
    is_western = fmt == "western"

    if fmt not in _FAST:
        pat = compile_pattern(fmt, tuple(sorted((str(k), str(v)) for k, v in (era_codes or {}).items())))
        is_western = pat.western
        ok, empty, year, era_year, month, day, era_idx, bad_era = _pattern_parts(values, pat, era_codes, eras)
        reason[bad_era] = "元号コードが表にありません"
    elif fmt == "western":
        codes, lengths = literal_codes(values, 8)
        empty = lengths == 0
        d, ok = _digits(codes[:, :8])
        ok &= lengths == 8
        year, month, day = _to_number(d[:4]), _to_number(d[4:6]), _to_number(d[6:8])
        era_year = np.zeros(n, dtype=np.int64)
    else:  # era_code, era_letter
        codes, lengths = literal_codes(values, 8)
        empty = lengths == 0
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

    bad_digits = ~ok & ~empty & ~bad_era  # a row gets one reason
    reason[bad_digits] = ("年月日が数字の形式ではありません" if fmt in _FAST
                          else f"年月日が宣言した形式 {NAMED_FORMS.get(fmt, fmt)} ではありません")

    partial = ok & ((month == 0) | (day == 0))              # 不詳日 written with 00
    if not is_western:
        partial |= ok & (era_year == 0) & (month == 0) & (day == 0)
    range_bad = ok & ~partial & ((month > 12) | (day > 31) | ((not is_western) & (era_year == 0)))
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
    if not is_western:
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

    unknown_day = partial.copy()
    if unknown_text is not None:
        has_txt = pc.fill_null(pc.greater(pc.binary_length(unknown_text), 0), False).to_numpy(zero_copy_only=False)
        unknown_day |= has_txt & ~era_bad & ~range_bad
    else:
        has_txt = np.zeros(n, dtype=bool)
    non_calendar &= ~unknown_day
    unknown = unknown_day | non_calendar
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
    kept = ~invalid & (ok | has_txt)
    text = None
    if wareki:
        if is_western:  # the era of a western date: the last one begun by then (compared on y, m, d)
            ymd = year * 10000 + month * 100 + day
            firsts = np.array([e.start.year * 10000 + e.start.month * 100 + e.start.day for e in eras])
            era_idx = np.where(ok, np.searchsorted(firsts, ymd, side="right") - 1, -1)
            start_years = np.array([e.start.year for e in eras], dtype=np.int64)
            era_year = np.where(era_idx >= 0, year - start_years[np.maximum(era_idx, 0)] + 1, 0)
        text = wareki_text(eras, era_idx, era_year, month, day, kept & ok & (era_idx >= 0))
        if unknown_text is not None:
            text = pc.if_else(pa.array(has_txt & kept), unknown_text.cast(pa.string()), text)
    return ParsedDates(iso=iso, literal=literal_out, unknown=pa.array(unknown & ~invalid), invalid=invalid, reason=reason,
                       unknown_day=pa.array(unknown_day & ~invalid), non_calendar=pa.array(non_calendar & ~invalid),
                       wareki=text)


def wareki_text(eras, era_idx: np.ndarray, era_year: np.ndarray, month: np.ndarray, day: np.ndarray,
                mask: np.ndarray) -> pa.Array:
    """和暦 text of each row under ``mask`` (null elsewhere): 昭和45年2月29日, 令和元年5月1日; a part written
    00 reads 昭和45年2月日不詳, 昭和45年月日不詳, 昭和年月日不詳. Dates repeat: each distinct one is
    written once and taken for its rows."""
    n = len(mask)
    if not mask.any():
        return pa.nulls(n, pa.string())
    key = np.where(mask, ((np.maximum(era_idx, 0) * 1000 + era_year) * 100 + month) * 100 + day, -1)
    uniq, inverse = np.unique(key, return_inverse=True)
    texts = []
    for k in uniq.tolist():
        if k < 0:
            texts.append(None)
            continue
        k, d = divmod(k, 100)
        k, m = divmod(k, 100)
        e, y = divmod(k, 1000)
        era = eras[e].name
        ys = "元" if y == 1 else str(y)
        texts.append(f"{era}年月日不詳" if y == 0 else f"{era}{ys}年月日不詳" if m == 0
                     else f"{era}{ys}年{m}月日不詳" if d == 0 else f"{era}{ys}年{m}月{d}日")
    return pa.array(texts, pa.string()).take(pa.array(inverse.reshape(-1)))
