"""Vectorised date law for the rosters (numpy ``datetime64[D]`` arrays; NaT = unknown).

民法 第143条 (applied to ages by 年齢計算ニ関スル法律 ②): a period of months or years not starting
at the beginning of a month ends on the day before the day of the last month that corresponds to
the starting day; when that month has no such day, on its last day. Ages count from the day of
birth (年齢計算ニ関スル法律 ①, 初日算入): one reaches age N at the end of ``period_end(birth, 12N)``,
i.e. the day before the N-th birthday (born 2/29: 2/28 in every year). Other periods start the day
after their event (民法 第140条, 初日不算入): ``period_end(event + 1 day, months)``.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.mapping.era_dates import load_eras

NAT = np.datetime64("NaT", "D")
DAY = np.timedelta64(1, "D")


def to_days(values) -> np.ndarray:
    """Any column of dates (date objects, ISO text, None) → datetime64[D] with NaT for missing."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values))
    if pa.types.is_null(arr.type):
        return np.full(len(arr), NAT)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.strptime(pc.utf8_slice_codeunits(arr, 0, 10), format="%Y-%m-%d", unit="s").cast(pa.date32())
    elif pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.date32())
    return arr.to_numpy(zero_copy_only=False).astype("datetime64[D]")


def ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return y, m.astype(np.int64) % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Calendar date; a day past the month's end is the month's last day (callers decide when that is right)."""
    month = ((np.asarray(y, np.int64) - 1970) * 12 + np.asarray(m, np.int64) - 1).astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    last = (month + 1).astype("datetime64[D]") - DAY
    return np.minimum(first + (np.asarray(d, np.int64) - 1) * DAY, last)


def period_end(start: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """民法 第143条第2項: the last day of a period of ``months`` counted from ``start`` (inclusive)."""
    s_month = start.astype("datetime64[M]")
    day = (start - s_month.astype("datetime64[D]")).astype(np.int64) + 1
    target = s_month + np.asarray(months, np.int64)
    first = target.astype("datetime64[D]")
    last = (target + 1).astype("datetime64[D]") - DAY
    dim = (last - first).astype(np.int64) + 1
    out = np.where(day <= dim, first + (day - 2) * DAY, last)   # the corresponding day − 1, or the month's end
    return np.where(np.isnat(start), NAT, out)


def reach_age(birth: np.ndarray, years: int) -> np.ndarray:
    """The day one reaches ``years`` (年齢計算ニ関スル法律: the day before the birthday)."""
    return period_end(birth, 12 * years)


def fiscal_year(d: np.ndarray) -> np.ndarray:
    """年度 / 学年 (学校教育法施行規則 第59条: 4月1日に始まり翌年3月31日に終わる)."""
    y, m, _ = ymd(d)
    return np.where(m >= 4, y, y - 1)


def iso(d: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' text per element ('' for NaT) — for reasons."""
    s = np.datetime_as_string(d, unit="D")
    return np.where(np.isnat(d), "", s)


# ------------------------------------------------------------------ 不詳 births
_ERA = {e.name: e.start.year for e in load_eras()[0]}
_LETTER = {e.letter: e.name for e in load_eras()[0]}
_CODE = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}   # the common code (DESIGN.md)
_KANJI = re.compile(rf"^({'|'.join(_ERA)})(元|\d{{1,2}})年(?:(\d{{1,2}})月)?(?:(\d{{1,2}})日)?")
_RAW = re.compile(r"^([1-5MTSHR])(\d{2})(\d{2})(\d{2})$")
_WESTERN = re.compile(r"^(\d{4})[-/年]?(\d{2})?[-/月]?(\d{2})?")


def parse_partial(text: str | None) -> tuple[int | None, int | None, int | None]:
    """(year, month, day) of a 不詳 or non-calendar birth literal; None for each unknown part.

    Reads the 和暦 text the store keeps (昭和10年頃, 昭和10年5月頃, 昭和45年2月日不詳, 昭和45年2月29日),
    an era code or letter + YYMMDD with 00 for unknown parts (3450229, S100500), or western digits.
    """
    if not text:
        return None, None, None
    s = unicodedata.normalize("NFKC", text).strip()
    m = _KANJI.match(s)
    if m:
        era, yy, mm, dd = m.groups()
        year = _ERA[era] + (1 if yy == "元" else int(yy)) - 1
        return year, int(mm) if mm else None, int(dd) if dd else None
    m = _RAW.match(s)
    if m:
        era = _CODE.get(m.group(1)) or _LETTER.get(m.group(1))
        yy, mm, dd = (int(g) for g in m.groups()[1:])
        if not era or yy == 0:
            return None, None, None
        return _ERA[era] + yy - 1, mm or None, dd or None
    m = _WESTERN.match(s)
    if m and m.group(1):
        mm = int(m.group(2)) if m.group(2) else 0
        dd = int(m.group(3)) if m.group(3) else 0
        return int(m.group(1)), mm or None, dd or None
    return None, None, None


def effective_birth(birth: np.ndarray, literal: np.ndarray, policy: dict) -> tuple[np.ndarray, np.ndarray]:
    """(birth date used for the rules, note) — the ISO date where known, else the documented choice.

    ``policy``: ``day: last|first`` (日不詳, and a day the calendar lacks such as 2月29日 of a common
    year: the month's last day either way), ``month: last|first`` (月不詳: December / January).
    The few distinct 不詳 literals are parsed once each (not per person).
    """
    out = birth.copy()
    note = np.full(len(birth), "", dtype=object)
    unknown = np.isnat(birth)
    if not unknown.any():
        return out, note
    lits = np.asarray(literal, dtype=object)
    uniq, inverse = np.unique(np.where(unknown, lits, "").astype(str), return_inverse=True)
    eff = np.full(len(uniq), NAT)
    why = np.full(len(uniq), "", dtype=object)
    day_last, month_last = policy.get("day", "last") == "last", policy.get("month", "last") == "last"
    for i, text in enumerate(uniq):     # distinct literals, a handful
        if not text:
            continue
        y, m, d = parse_partial(text)
        if y is None:
            why[i] = f"生年月日不詳（{text}）: 年が不明のため判定できません"
            continue
        if m is None:
            m, d = (12, 31) if month_last else (1, 1)
            why[i] = f"生年月日不詳（{text}）: {'12月31日' if month_last else '1月1日'}として判定"
        elif d is None or d > 28:
            last = from_ymd(np.array([y]), np.array([m]), np.array([31]))[0]
            if d is None:
                d = ymd(np.array([last]))[2][0] if day_last else 1
                why[i] = f"日不詳（{text}）: {m}月{'末日' if day_last else '1日'}として判定"
            elif d > ymd(np.array([last]))[2][0]:
                d = ymd(np.array([last]))[2][0]
                why[i] = f"暦にない日（{text}）: {m}月末日として判定"
        eff[i] = from_ymd(np.array([y]), np.array([m]), np.array([d]))[0]
    take = unknown & (uniq[inverse] != "")
    out[take] = eff[inverse][take]
    note[take] = why[inverse][take]
    return out, note
