"""The municipal gaiji register (外字台帳): one row per vendor character.

CSV (UTF-8 with header) with the columns of docs/architecture.md, or Excel with Japanese
headers. Every change made through :meth:`GaijiRegister.decide` is appended to the decision
log beside the register (``<register>.decisions.jsonl``: who, when, before, after) — the log is
only ever appended to.
"""
from __future__ import annotations

import csv
import getpass
import json
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from collections.abc import Callable, Iterable

from .codes import format_sequence, is_pua, normalise_mj, parse_sequence
from .errors import GaijiError

COLUMNS = ("source_system", "source_code", "pua", "glyph_note", "mj", "gj", "ucs", "status", "decided_by", "decided_at")
JAPANESE = {
    "source_system": "移行元システム", "source_code": "移行元コード", "pua": "私用領域コード",
    "glyph_note": "字形メモ", "mj": "MJ文字図形名", "gj": "行政事務標準文字ID", "ucs": "Unicode",
    "status": "状態", "decided_by": "判断者", "decided_at": "判断日時",
}
FROM_JAPANESE = {v: k for k, v in JAPANESE.items()}
IDENTIFIED, CANDIDATES, UNIDENTIFIED = "同定済", "候補あり", "未同定"
STATUSES = (IDENTIFIED, CANDIDATES, UNIDENTIFIED)


@dataclass(frozen=True)
class GaijiRow:
    source_system: str
    source_code: str
    pua: str = ""
    glyph_note: str = ""
    mj: str = ""
    gj: str = ""
    ucs: str = ""
    status: str = UNIDENTIFIED
    decided_by: str = ""
    decided_at: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.source_system, self.source_code)

    @property
    def pua_char(self) -> str | None:
        return parse_sequence(self.pua) if self.pua else None

    @property
    def ucs_text(self) -> str:
        return parse_sequence(self.ucs) if self.ucs else ""


def _check_row(row: GaijiRow, where: str) -> GaijiRow:
    if not row.source_system or not row.source_code:
        raise GaijiError(f"{where}: source_system and source_code are required")
    if row.status not in STATUSES:
        raise GaijiError(f"{where}: status {row.status!r} is not one of {' / '.join(STATUSES)}")
    try:
        pua = row.pua_char
        if row.pua and (pua is None or len(pua) != 1):
            raise GaijiError(f"pua {row.pua!r} must be one code point (U+E000)")
        row.ucs_text
        mj = normalise_mj(row.mj) if row.mj else ""
    except GaijiError as exc:
        raise GaijiError(f"{where}: {exc}") from exc
    if row.gj and not re.fullmatch(r"GJ\d{6}", row.gj.strip().upper()):
        raise GaijiError(f"{where}: gj {row.gj!r} is not a 行政事務標準文字 id (GJ + 6 digits)")
    if row.status == IDENTIFIED and not (mj or row.gj or row.ucs):
        raise GaijiError(f"{where}: status 同定済 needs mj, gj or ucs")
    pua_norm = f"U+{ord(pua):04X}" if row.pua else ""
    return replace(row, mj=mj, gj=row.gj.strip().upper(), pua=pua_norm)


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


class GaijiRegister:
    def __init__(self, rows: list[GaijiRow] | None = None, path: Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._rows: dict[tuple[str, str], GaijiRow] = {}
        for r in rows or []:
            if r.key in self._rows:
                raise GaijiError(f"register: {r.source_system} {r.source_code} appears twice")
            self._rows[r.key] = r

    # --------------------------------------------------------------- access
    @property
    def rows(self) -> list[GaijiRow]:
        return list(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, source_system: str, source_code: str) -> GaijiRow | None:
        return self._rows.get((source_system, source_code))

    @property
    def log_path(self) -> Path:
        if self.path is None:
            raise GaijiError("the register has no path; save it first")
        return self.path.with_name(self.path.name + ".decisions.jsonl")

    # --------------------------------------------------------------- decisions
    def decide(self, source_system: str, source_code: str, *, by: str, reason: str = "", **changes) -> GaijiRow:
        """Change (or add) one row and append the decision to the log."""
        unknown = set(changes) - set(COLUMNS)
        if unknown:
            raise GaijiError(f"unknown register columns: {', '.join(sorted(unknown))}")
        if not by:
            raise GaijiError("a decision needs a name (decided_by)")
        before = self._rows.get((source_system, source_code))
        base = before or GaijiRow(source_system, source_code)
        at = _now()
        if "status" not in changes and any(changes.get(k) for k in ("mj", "gj", "ucs")):
            changes = {**changes, "status": IDENTIFIED}    # naming the character is the identification
        after = _check_row(replace(base, **changes, decided_by=by, decided_at=at), f"{source_system} {source_code}")
        self._append_log({"at": at, "by": by, "key": [source_system, source_code], "reason": reason,
                          "before": asdict(before) if before else None, "after": asdict(after)})
        self._rows[after.key] = after
        return after

    def _append_log(self, entry: dict) -> None:
        if self.path is None:
            raise GaijiError("the register has no path: decisions need a decision log beside it")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def decisions(self) -> list[dict]:
        if self.path is None or not self.log_path.exists():
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def merge(self, other: "GaijiRegister", *, by: str, reason: str = "import") -> int:
        """Bring rows of another register in, logging each row that changes. Returns #changed."""
        changed = 0
        for r in other.rows:
            cur = self.get(*r.key)
            if cur is not None and cur == r:
                continue
            values = {k: v for k, v in asdict(r).items() if k not in ("source_system", "source_code", "decided_by", "decided_at")}
            self.decide(r.source_system, r.source_code, by=r.decided_by or by, reason=reason, **values)
            changed += 1
        return changed

    # --------------------------------------------------------------- files
    @classmethod
    def load(cls, path: str | Path) -> "GaijiRegister":
        path = Path(path)
        if not path.exists():
            raise GaijiError(f"{path}: gaiji register not found")
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            rows = _read_excel(path)
        else:
            rows = _read_csv(path)
        return cls(rows, path)

    @classmethod
    def open_or_new(cls, path: str | Path) -> "GaijiRegister":
        path = Path(path)
        return cls.load(path) if path.exists() else cls([], path)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise GaijiError("no path to save the register to")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".xlsx":
            _write_excel(self.rows, target)
        else:
            tmp = target.with_name(target.name + ".tmp")
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(COLUMNS)
                for r in sorted(self.rows, key=lambda r: r.key):
                    w.writerow([getattr(r, c) for c in COLUMNS])
            tmp.replace(target)
        if self.path is None:
            self.path = target
        return target


def _from_mapping(values: dict[str, str], where: str) -> GaijiRow:
    clean = {k: ("" if v is None else str(v).strip()) for k, v in values.items() if k in COLUMNS}
    clean.setdefault("status", UNIDENTIFIED)
    if not clean["status"]:
        clean["status"] = UNIDENTIFIED
    return _check_row(GaijiRow(**{f.name: clean.get(f.name, "") for f in fields(GaijiRow)}), where)


def _header_to_columns(header: list[str], path: Path) -> list[str | None]:
    cols = []
    for i, h in enumerate(header, 1):
        h = (h or "").strip()
        col = h if h in COLUMNS else FROM_JAPANESE.get(h)
        if col is None and h:  # a misspelt column would be dropped silently with everything in it
            raise GaijiError(f"{path}: register column {i} {h!r} is not a register column — 使える列 (allowed): "
                             f"{', '.join(COLUMNS)} (or {', '.join(JAPANESE.values())})")
        cols.append(col)
    missing = [c for c in ("source_system", "source_code") if c not in cols]
    if missing:
        raise GaijiError(f"{path}: register header lacks {', '.join(missing)} "
                         f"(expected {','.join(COLUMNS)} or the Japanese headers)")
    return cols


def _read_csv(path: Path) -> list[GaijiRow]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise GaijiError(f"{path}: empty register file")
            cols = _header_to_columns(header, path)
            rows = []
            for lineno, rec in enumerate(reader, start=2):
                if not any(c.strip() for c in rec):
                    continue
                values = {c: v for c, v in zip(cols, rec) if c}
                rows.append(_from_mapping(values, f"{path}:{lineno}"))
            return rows
    except UnicodeDecodeError as exc:
        raise GaijiError(f"{path}: the register must be UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _read_excel(path: Path) -> list[GaijiRow]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise GaijiError(f"{path}: cannot read the Excel register ({exc})") from exc
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it, None)
    if header is None:
        raise GaijiError(f"{path}: empty sheet")
    cols = _header_to_columns([str(h or "") for h in header], path)
    rows = []
    for n, rec in enumerate(it, start=2):
        if not any(v not in (None, "") for v in rec):
            continue
        values = {c: ("" if v is None else str(v)) for c, v in zip(cols, rec) if c}
        rows.append(_from_mapping(values, f"{path}:row {n}"))
    wb.close()
    return rows


def _write_excel(rows: list[GaijiRow], path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("外字台帳")
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
    for c, col in enumerate(COLUMNS):
        ws.write_string(0, c, JAPANESE[col], head)
        ws.set_column(c, c, 16, text)
    for r, row in enumerate(sorted(rows, key=lambda r: r.key), start=1):
        for c, col in enumerate(COLUMNS):
            ws.write_string(r, c, getattr(row, col))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    wb.close()


Decoder = Callable[[bytes], str]


def derive_pua(source_code: str, decoders: Iterable[Decoder]) -> str | None:
    """The private-use code point (``U+E0BC``) a vendor code written in hex (``F140``) decodes to
    in the source file's encoding(s), or None when it decodes to no single private-use character
    (or to different ones in different encodings: then the register must say which)."""
    code = source_code.strip().upper().removeprefix("0X").replace(" ", "")
    if not code or not re.fullmatch(r"(?:[0-9A-F]{2})+", code):
        return None
    found: set[str] = set()
    for decode in decoders:
        try:
            text = decode(bytes.fromhex(code))
        except Exception:  # noqa: BLE001 — a codec's own error: this encoding does not read the code
            continue
        if len(text) == 1 and is_pua(text):
            found.add(text)
    return f"U+{ord(found.pop()):04X}" if len(found) == 1 else None


def with_derived_pua(register: GaijiRegister, decoders: list[Decoder],
                     source_system: str | None = None) -> tuple[GaijiRegister, list[GaijiRow]]:
    """A copy of the register whose rows without ``pua`` get it from ``source_code`` (only rows of
    ``source_system`` when given); returns (register, rows that still have no pua)."""
    rows, missing = [], []
    for r in register.rows:
        if not r.pua and (source_system is None or r.source_system == source_system):
            pua = derive_pua(r.source_code, decoders)
            if pua:
                r = replace(r, pua=pua)
            else:
                missing.append(r)
        rows.append(r)
    return GaijiRegister(rows, register.path), missing


def ucs_column(text: str) -> str:
    """Resolved text → the register's ucs notation ('9AD9', '5F8A E0101')."""
    return format_sequence(text)
