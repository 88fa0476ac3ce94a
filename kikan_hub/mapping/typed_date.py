"""A date a person types (a command option, a definition file): western or 和暦, one value.

Accepted: 2024-04-01, 2024/4/1, 2024.4.1, 20240401, 令和6年4月1日, 令和元年5月1日, R6.4.1,
R06/04/01, r6-4-1, 平成31年4月30日, and full-width digits. A 和暦 date must lie inside its era
(昭和64年1月8日 is refused), except the overlaps the standard keeps (明治45年7月30日,
大正15年12月25日; j80) — the same era table the extracts are read with (eras.yaml).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from kikan_hub.mapping.era_dates import load_eras

_WESTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA = re.compile(r"^(?P<era>[^\d\s元]+?)\s*(?P<year>\d{1,2}|元)\s*[年.\-/]\s*(?P<month>\d{1,2})\s*[月.\-/]\s*"
                  r"(?P<day>\d{1,2})\s*日?$")
FORMS = "YYYY-MM-DD, YYYY/M/D, YYYYMMDD, 令和6年4月1日, 令和元年5月1日, R6.4.1"


class TypedDateError(ValueError):
    """A typed date that is not a date: the message says which forms are accepted."""


def parse_typed_date(text: str) -> dt.date:
    s = unicodedata.normalize("NFKC", str(text)).strip()
    m = _WESTERN.match(s) or _COMPACT.match(s)
    try:
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = _ERA.match(s)
        if m:
            return _era_date(m["era"], 1 if m["year"] == "元" else int(m["year"]), int(m["month"]), int(m["day"]), s)
    except ValueError as exc:
        if isinstance(exc, TypedDateError):
            raise
        raise TypedDateError(f"存在しない日付です: {text!r}") from None
    raise TypedDateError(f"日付として読めません: {text!r}（使える形: {FORMS}）")


def _era_date(era_text: str, year: int, month: int, day: int, shown: str) -> dt.date:
    eras, allowed = load_eras()
    key = era_text.upper()
    era = next((e for e in eras if key in (e.name, e.letter)), None)
    if era is None:
        names = "、".join(f"{e.name}({e.letter})" for e in eras)
        raise TypedDateError(f"元号が分かりません: {era_text!r} in {shown!r}（使える元号: {names}）")
    date = dt.date(era.start.year + year - 1, month, day)
    inside = era.start <= date and (era.end is None or date < era.end)
    if not inside and (era.name, year, month, day) not in allowed:
        last = f"{era.end - dt.timedelta(days=1)}" if era.end else "—"
        raise TypedDateError(f"{shown} は{era.name}の期間外です（{era.name}: {era.start} 〜 {last}）")
    return date
