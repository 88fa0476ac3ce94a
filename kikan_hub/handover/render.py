"""Rendering one canonical row as one record of a handover file (CSV or fixed length).

CSV (RFC 4180, CRLF): text columns are always quoted when not null, so that an empty string
(``""``) and a null (nothing between the commas) stay different; numbers, dates and flags are
never quoted. Dates are ISO 8601 (YYYY-MM-DD), flags ``1``/``0``.

Fixed length (CRLF after each record): text left-aligned and padded with ASCII spaces to the
width in bytes; integers right-aligned, zero-padded (``-`` first for negatives); decimals
right-aligned, space-padded, with exactly ``scale`` decimals; dates ``YYYYMMDD``; flags
``1``/``0``; null = all spaces. A value that does not fit its width is an error, never cut.
A text value that is empty or ends in an ASCII space cannot be told from padding: an error.
"""
from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

from kikan_hub.gaiji.fold import FoldRecord
from kikan_hub.handover.charpolicy import BadChar, CharPolicy
from kikan_hub.handover.spec import FileColumn


@dataclass
class Problem:
    kind: str            # chars | width | blank
    column: FileColumn
    record_no: int
    key: str
    message: str
    chars: list[BadChar] = field(default_factory=list)

    def describe(self, table: str) -> str:
        return f"{table} レコード{self.record_no} ({self.key}) 項目 {self.column.name}({self.column.id}): {self.message}"


def _text(v) -> str:
    return v if isinstance(v, str) else str(v)


def _date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _decimal(v, scale: int) -> decimal.Decimal:
    d = v if isinstance(v, decimal.Decimal) else decimal.Decimal(str(v))
    return d.quantize(decimal.Decimal(1).scaleb(-scale)) if scale else d.quantize(decimal.Decimal(1))


class RowRenderer:
    """Turns store rows (tuples in FileColumn order) into record bytes; collects folds and problems."""

    def __init__(self, cols: list[FileColumn], fmt: str, policy: CharPolicy, pk_index: list[int]) -> None:
        self.cols = cols
        self.fmt = fmt
        self.policy = policy
        self.pk_index = pk_index
        self.folds: list[tuple[int, str, FileColumn, FoldRecord]] = []   # (record_no, key, column, fold)
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.bad_chars: dict[str, int] = {}   # every character that could not be written → occurrences

    def key(self, row) -> str:
        return ",".join(f"{self.cols[i].id}={row[i]}" for i in self.pk_index)

    def _problem(self, kind, col, record_no, row, message, chars=()) -> None:
        self.problem_count += 1
        for c in chars:
            d = c.describe()
            self.bad_chars[d] = self.bad_chars.get(d, 0) + 1
        if len(self.problems) < 200:
            self.problems.append(Problem(kind, col, record_no, self.key(row), message, list(chars)))

    def _text_bytes(self, col: FileColumn, v, record_no: int, row) -> bytes:
        s = _text(v)
        if not col.chars:
            if s.isascii():
                return s.encode("ascii")
        b, folds, bad = self.policy.convert(s)
        if bad:
            self._problem("chars", col, record_no, row, "出力できない文字: " + ", ".join(c.describe() for c in bad), bad)
        if folds:
            key = self.key(row)
            for f in folds:
                self.folds.append((record_no, key, col, f))
        return b

    def _compile(self) -> list:
        """One function per column: value (not None) → bytes; the hot path of render().
        Same output and same problem reports as _render (which also gives the spans)."""
        fns = []
        csv = self.fmt == "csv"
        for col in self.cols:
            w = col.width
            if col.type == "text":
                def f(v, rec_no, row, col=col, w=w):
                    if isinstance(v, str) and v.isascii():
                        raw = v.encode("ascii")
                    else:
                        raw = self._text_bytes(col, v, rec_no, row)
                    if csv:
                        return b'"' + (raw.replace(b'"', b'""') if b'"' in raw else raw) + b'"'
                    if raw == b"" or raw[-1:] == b" ":
                        self._problem("blank", col, rec_no, row,
                                      "空文字列または末尾の半角空白は固定長では空白埋めと区別できません (CSV 形式を使ってください)")
                    if len(raw) > w:
                        self._problem("width", col, rec_no, row,
                                      f"{len(raw)} バイトで桁数 {w} バイトに収まりません (切り捨てません)")
                    return raw.ljust(w, b" ")
            elif col.type == "flag":
                def f(v, rec_no, row):
                    return b"1" if v else b"0"
            else:
                if col.type == "date":
                    if csv:
                        def conv(v):
                            return (v if type(v) is dt.date else _date(v)).isoformat()
                    else:
                        def conv(v):
                            d = v if type(v) is dt.date else _date(v)
                            return f"{d.year:04d}{d.month:02d}{d.day:02d}"
                elif col.type == "integer":
                    def conv(v, w=w):
                        return str(int(v)) if csv else f"{int(v):0{w}d}"
                else:  # decimal
                    def conv(v, w=w, scale=col.scale):
                        t = format(_decimal(v, scale), "f")
                        return t if csv else f"{t:>{w}}"

                def f(v, rec_no, row, col=col, w=w, conv=conv):
                    b = conv(v).encode("ascii")
                    if not csv and len(b) > w:
                        self._problem("width", col, rec_no, row, f"値 {v} は桁数 {w} バイトに収まりません (切り捨てません)")
                    return b
            fns.append(f)
        return fns

    def render(self, row, record_no: int, spans: list | None = None) -> bytes:
        """Record bytes including the CRLF terminator. ``spans`` (if given) gets (start, end) per column."""
        if spans is not None:
            return self._render(row, record_no, spans)
        fns = self.__dict__.get("_fns")
        if fns is None:
            fns = self._fns = self._compile()
        if self.fmt == "csv":
            return b",".join([b"" if v is None else f(v, record_no, row) for f, v in zip(fns, row)]) + b"\r\n"
        return b"".join([b" " * c.width if v is None else f(v, record_no, row)
                         for f, v, c in zip(fns, row, self.cols)]) + b"\r\n"

    def _render(self, row, record_no: int, spans: list | None) -> bytes:
        parts: list[bytes] = []
        csv = self.fmt == "csv"
        pos = 0
        for col, v in zip(self.cols, row):
            if v is None:
                b = b"" if csv else b" " * col.width
            elif col.type == "text":
                raw = self._text_bytes(col, v, record_no, row)
                if csv:
                    b = b'"' + raw.replace(b'"', b'""') + b'"'
                else:
                    if raw == b"" or raw.endswith(b" "):
                        self._problem("blank", col, record_no, row,
                                      "空文字列または末尾の半角空白は固定長では空白埋めと区別できません (CSV 形式を使ってください)")
                    if len(raw) > col.width:
                        self._problem("width", col, record_no, row,
                                      f"{len(raw)} バイトで桁数 {col.width} バイトに収まりません (切り捨てません)")
                    b = raw.ljust(col.width, b" ")
            elif col.type == "integer":
                b = (str(int(v)) if csv else f"{int(v):0{col.width}d}").encode("ascii")
            elif col.type == "decimal":
                d = _decimal(v, col.scale)
                b = (format(d, "f") if csv else f"{format(d, 'f'):>{col.width}}").encode("ascii")
            elif col.type == "date":
                d = _date(v)
                b = (d.isoformat() if csv else f"{d.year:04d}{d.month:02d}{d.day:02d}").encode("ascii")
            elif col.type == "flag":
                b = b"1" if v else b"0"
            else:  # pragma: no cover - spec guarantees the types
                raise ValueError(col.type)
            if not csv and col.type != "text" and len(b) > col.width:
                self._problem("width", col, record_no, row,
                              f"値 {v} は桁数 {col.width} バイトに収まりません (切り捨てません)")
            if spans is not None:
                spans.append((pos, pos + len(b)))
                pos += len(b) + (1 if csv else 0)
            parts.append(b)
        return (b"," if csv else b"").join(parts) + b"\r\n"

    def header(self) -> bytes:
        s = ",".join('"' + c.header.replace('"', '""') + '"' for c in self.cols)
        b, _, bad = self.policy.convert(s) if not s.isascii() else (s.encode(), [], [])
        if bad:  # item names are JIS X 0208 kanji; should never happen
            raise ValueError(f"header not encodable: {[c.describe() for c in bad]}")
        return b + b"\r\n"
