"""Run an EUC extraction: query the store (streamed), mask per role, write CSV / Excel / Parquet,
fold for CP932 with a record of every fold, and audit the run (who, when, definition, rows, SHA-256)."""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, and_, func, insert, select

from kikan_hub.modules.euc.definition import (ENCODINGS, FOLD_POLICIES, FORMATS, EucError, ExtractionDefinition,
                                              get_definition)
from kikan_hub.validation.masking import PersonalPolicy, load_policy
from kikan_hub.modules import shien
from kikan_hub.modules.juki import as_of_statement
from kikan_hub.store.module_tables import EUC_AUDIT
from kikan_hub.store.schema import build_metadata

GETA = "〓"                    # U+3013, in CP932: the visible mark of a character that could not be folded
EXCEL_MAX_ROWS = 1_048_576     # per sheet, header included
FOLDS_HEADER = ["row", "column", "position", "from", "from_codepoints", "to", "category"]


@dataclass
class ExtractionResult:
    audit_id: int
    row_count: int
    fold_count: int
    output_path: Path
    output_sha256: str
    folds_path: Path | None
    duration_ms: int
    masked_columns: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"audit_id": self.audit_id, "row_count": self.row_count, "fold_count": self.fold_count,
                "output_path": str(self.output_path), "output_sha256": self.output_sha256,
                "folds_path": str(self.folds_path) if self.folds_path else None, "duration_ms": self.duration_ms,
                "masked_columns": self.masked_columns}


# ------------------------------------------------------------------ query
def _condition(col, f):
    v = f.value
    return {
        "eq": lambda: col == v, "ne": lambda: col != v, "lt": lambda: col < v, "le": lambda: col <= v,
        "gt": lambda: col > v, "ge": lambda: col >= v, "in": lambda: col.in_(v), "not_in": lambda: col.not_in(v),
        "between": lambda: col.between(v[0], v[1]), "like": lambda: col.like(v),
        "startswith": lambda: col.startswith(v, autoescape=True), "contains": lambda: col.contains(v, autoescape=True),
        "is_null": lambda: col.is_(None), "not_null": lambda: col.is_not(None),
    }[f.op]()


def _shien_filter(src, table_id: str):
    """The condition that leaves out 支援対象者 (j160, j440), or None where the table names no person."""
    if "atena_no" in src.c:
        return src.c.atena_no.not_in(shien.restricted_atena_select())
    if "setai_no" in src.c:          # 世帯 rows carry the address of every member
        return src.c.setai_no.not_in(shien.restricted_setai_select())
    return None


def build_query(d: ExtractionDefinition, with_shien: bool = False):
    if d.is_history and d.as_of != "all":
        _, src = as_of_statement(d.table, None if d.as_of in (None, "latest") else d.as_of)
    else:
        src = build_metadata().tables[d.table]
    stmt = select(*[src.c[i] for i in d.items])
    if d.filters:
        stmt = stmt.where(and_(*[_condition(src.c[f.item], f) for f in d.filters]))
    if not with_shien:
        cond = _shien_filter(src, d.table)
        if cond is not None:
            stmt = stmt.where(cond)
    # NULLs last in both directions, on SQLite and PostgreSQL alike
    order = [(src.c[s.item].desc() if s.desc else src.c[s.item].asc()).nulls_last() for s in d.sort]
    pk = [k for k in d.isl.primary_key]
    order += [src.c[k] for k in pk if k not in {s.item for s in d.sort}]   # deterministic output
    return stmt.order_by(*order)


def iter_rows(engine: Engine, d: ExtractionDefinition, batch: int = 5000, with_shien: bool = False) -> Iterator[tuple]:
    stmt = build_query(d, with_shien)
    with engine.connect() as conn:
        res = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for row in res:
            yield tuple(row)


# ------------------------------------------------------------------ CP932 folding
def _units(text: str):
    try:
        from kikan_hub.gaiji.codes import units
        return units(text)
    except ImportError:  # pragma: no cover
        return list(enumerate(text))


def _cp932_ok(s: str) -> bool:
    try:
        s.encode("cp932")        # strict, per unit: never errors='replace'
        return True
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=200_000)
def fold_cp932(text: str, policy: str) -> tuple[str, tuple[tuple, ...]]:
    """(folded text, ((position, from, to, category), ...)). Every changed unit is recorded.

    mj:     the MJ縮退マップ (kikan_hub.gaiji.fold.fold_text), then 〓 for what it cannot fold
    geta:   〓 for every unit outside CP932
    strict: raise EucError on the first unit outside CP932
    """
    if _cp932_ok(text):
        return text, ()
    records: list[tuple] = []
    out: list[str] = []
    for pos, unit in _units(text):
        if _cp932_ok(unit):
            out.append(unit)
            continue
        if policy == "strict":
            raise EucError(f"CP932 に無い文字 {unit!r} ({' '.join(f'U+{ord(c):04X}' for c in unit)}) — fold_policy strict")
        to, category = None, "縮退不可"
        if policy == "mj":
            try:
                from kikan_hub.gaiji.fold import fold_text
                folded, recs = fold_text(unit, "cp932")
                if recs and recs[0].to is not None and _cp932_ok(folded):
                    to, category = folded, recs[0].category
            except ImportError:  # pragma: no cover - the gaiji package always ships fold.py
                pass
            if to is None and len(unit) > 1 and _cp932_ok(unit[0]):
                to, category = unit[0], "異体字セレクタ除去 (UCS統合)"   # 葛 + VS17 → 葛
        if to is None:
            to, category = GETA, f"{category}→〓" if policy == "mj" else "〓 (geta)"
        records.append((pos, unit, to, category))
        out.append(to)
    return "".join(out), tuple(records)


# ------------------------------------------------------------------ value rendering
def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    return str(v)


class _FoldLog:
    def __init__(self, path: Path | None):
        self.path = path
        self.count = 0
        self._fh = None
        self._w = None

    def add(self, row_no: int, column: str, recs: tuple) -> None:
        if self._w is None:
            assert self.path is not None
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._w = csv.writer(self._fh)
            self._w.writerow(FOLDS_HEADER)
        for pos, frm, to, cat in recs:
            self._w.writerow([row_no, column, pos, frm, " ".join(f"U+{ord(c):04X}" for c in frm), to, cat])
            self.count += 1

    def close(self) -> Path | None:
        if self._fh:
            self._fh.close()
            return self.path
        return None


# ------------------------------------------------------------------ writers
def _write_csv(rows, d: ExtractionDefinition, path: Path, encoding: str, policy: str, folds: _FoldLog) -> int:
    n = 0
    headers = d.headers()
    with path.open("w", encoding=encoding, newline="") as fh:   # strict encoder: errors are bugs, not data loss
        w = csv.writer(fh, lineterminator="\r\n")
        if encoding == "cp932":
            w.writerow([fold_cp932(h, policy)[0] for h in headers])
            for n, row in enumerate(rows, 1):
                out = []
                for name, v in zip(d.items, row):
                    s = _text(v)
                    if s:
                        s, recs = fold_cp932(s, policy)
                        if recs:
                            folds.add(n, name, recs)
                    out.append(s)
                w.writerow(out)
        else:
            w.writerow(headers)
            for n, row in enumerate(rows, 1):
                w.writerow([_text(v) for v in row])
    return n


def _write_xlsx(rows, d: ExtractionDefinition, path: Path) -> int:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    bold = wb.add_format({"bold": True})
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    headers = d.headers()
    sheet_no = 0
    ws = None
    r = EXCEL_MAX_ROWS
    n = 0
    for n, row in enumerate(rows, 1):
        if r >= EXCEL_MAX_ROWS:          # a new sheet, never a silent cut
            sheet_no += 1
            ws = wb.add_worksheet("抽出結果" if sheet_no == 1 else f"抽出結果{sheet_no}")
            for c, h in enumerate(headers):
                ws.write_string(0, c, h, bold)
            ws.freeze_panes(1, 0)
            r = 1
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day) if not isinstance(v, dt.datetime) else v, datef)
            elif isinstance(v, (int, float, decimal.Decimal)):
                ws.write_number(r, c, float(v) if isinstance(v, decimal.Decimal) else v)
            else:
                s = str(v)
                if len(s) > 32767:
                    raise EucError(f"行 {n} 項目 {d.items[c]}: Excel のセルの上限 (32,767 文字) を超えます")
                ws.write_string(r, c, s)
        r += 1
    if ws is None:
        ws = wb.add_worksheet("抽出結果")
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, bold)
    wb.close()
    return n


def _arrow_type(col):
    import pyarrow as pa
    return {"text": pa.string(), "integer": pa.int64(), "date": pa.date32(), "flag": pa.bool_(),
            "decimal": pa.decimal128(18, col.item.scale if col.item else 0)}[col.type]


def _write_parquet(rows, d: ExtractionDefinition, path: Path, masked: set[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = d.columns()
    schema = pa.schema([pa.field(h if d.header == "name" else c.name,
                                 pa.string() if c.name in masked else _arrow_type(c)) for h, c in zip(d.headers(), cols)])
    n = 0
    with pq.ParquetWriter(str(path), schema) as w:
        buf: list[tuple] = []

        def flush():
            if buf:
                arrays = [pa.array([r[i] for r in buf], schema.field(i).type) for i in range(len(cols))]
                w.write_table(pa.Table.from_arrays(arrays, schema=schema))
                buf.clear()
        for n, row in enumerate(rows, 1):
            buf.append(row)
            if len(buf) >= 50_000:
                flush()
        flush()
    return n


# ------------------------------------------------------------------ run + audit
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _audit(engine: Engine, **values) -> int:
    t = build_metadata().tables[EUC_AUDIT]
    with engine.begin() as conn:
        return int(conn.execute(insert(t).values(**values)).inserted_primary_key[0])


def run_extraction(engine: Engine, definition: ExtractionDefinition | str, out: Path, who: str, role: str,
                   fmt: str | None = None, encoding: str | None = None, fold_policy: str | None = None,
                   rules: PersonalPolicy | None = None, scopes: frozenset[str] | set[str] = frozenset()
                   ) -> ExtractionResult:
    """Run a saved (by name) or given definition. Every run — failed ones too — leaves an audit row.

    支援対象者 (j160, j440) are left out unless `scopes` holds juki:shien_sochi:read; the 支援措置
    tables themselves need that scope. The audit row says how many were left out (or included)."""
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    version = None
    if not who or not str(who).strip():
        raise EucError("抽出者 (who) が必要です")
    if isinstance(definition, str):
        definition, version = get_definition(engine, definition)
    d = definition
    fmt = fmt or d.output.get("format") or _fmt_from_suffix(out)
    encoding = encoding or d.output.get("encoding") or "utf-8"
    fold_policy = fold_policy or d.output.get("fold_policy") or "mj"
    out = Path(out)
    audit = dict(started_at=started, who=who, role=role, definition_name=d.name, definition_version=version,
                 definition_sha256=d.sha256(), definition_json=d.canonical_json(), output_format=fmt,
                 encoding=encoding if fmt == "csv" else None, fold_policy=fold_policy if fmt == "csv" else None,
                 output_path=str(out))
    folds = _FoldLog(out.with_name(out.name + ".folds.csv"))
    try:
        check_output_options(fmt, encoding, fold_policy)
        with_shien = shien.SCOPE in set(scopes)
        if d.table in shien.SHIEN_TABLES and not with_shien:
            raise EucError(f"{d.table} (支援措置) の抽出にはスコープ {shien.SCOPE} が必要です")
        shien_msg = _shien_note(engine, d, with_shien)
        rules = rules or load_policy()
        plan = rules.role_plan(role, d.isl, d.items)
        idx = [(i, plan[c]) for i, c in enumerate(d.items) if c in plan]

        def masked_rows():
            for row in iter_rows(engine, d, with_shien=with_shien):
                if idx:
                    row = list(row)
                    for i, method in idx:
                        row[i] = rules.apply(method, row[i])
                yield row
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            n = _write_csv(masked_rows(), d, out, encoding, fold_policy, folds)
        elif fmt == "xlsx":
            n = _write_xlsx(masked_rows(), d, out)
        else:
            n = _write_parquet(masked_rows(), d, out, set(plan))
        aid, sha, folds_path, ms = audit_success(engine, audit, out, folds, t0, n, message=shien_msg)
        return ExtractionResult(aid, n, folds.count, out, sha, folds_path, ms, plan)
    except Exception as exc:
        audit_failure(engine, audit, out, folds, t0, exc)
        raise


def check_output_options(fmt: str, encoding: str, fold_policy: str) -> None:
    if fmt not in FORMATS:
        raise EucError(f"出力形式は {FORMATS}: {fmt!r}")
    if encoding not in ENCODINGS:
        raise EucError(f"文字コードは {ENCODINGS}: {encoding!r}")
    if fold_policy not in FOLD_POLICIES:
        raise EucError(f"縮退方針は {FOLD_POLICIES}: {fold_policy!r}")


def audit_success(engine: Engine, audit: dict, out: Path, folds: "_FoldLog", t0: float,
                  n: int, message: str | None = None) -> tuple[int, str, Path | None, int]:
    """Close the fold log, hash the files, write the audit row: (audit id, SHA-256, folds path, ms)."""
    folds_path = folds.close()
    sha = _sha256(out)
    ms = int((time.perf_counter() - t0) * 1000)
    aid = _audit(engine, **audit, finished_at=dt.datetime.now(dt.timezone.utc), row_count=n,
                 fold_count=folds.count, output_sha256=sha, folds_path=str(folds_path) if folds_path else None,
                 folds_sha256=_sha256(folds_path) if folds_path else None, duration_ms=ms, status="ok",
                 message=message)
    return aid, sha, folds_path, ms


def audit_failure(engine: Engine, audit: dict, out: Path, folds: "_FoldLog", t0: float, exc: BaseException) -> None:
    """A failed run leaves no half-written file behind, and an audit row with the message."""
    folds.close()
    for p in (out, folds.path):
        try:
            if p is not None and p.exists():
                p.unlink()
        except OSError:
            pass
    _audit(engine, **audit, finished_at=dt.datetime.now(dt.timezone.utc), row_count=None,
           fold_count=folds.count, duration_ms=int((time.perf_counter() - t0) * 1000), status="failed",
           message=f"{type(exc).__name__}: {exc}"[:2000])


def _shien_note(engine: Engine, d: ExtractionDefinition, with_shien: bool) -> str | None:
    """What the audit row says about 支援対象者 in this table: how many were left out (or included)."""
    src = build_metadata().tables[d.table]
    if d.table in shien.SHIEN_TABLES:
        return f"支援措置のテーブル (スコープ {shien.SCOPE})"
    if "atena_no" in src.c:
        q = select(func.count(func.distinct(src.c.atena_no))).where(src.c.atena_no.in_(shien.restricted_atena_select()))
    elif "setai_no" in src.c:
        q = select(func.count(func.distinct(src.c.setai_no))).where(src.c.setai_no.in_(shien.restricted_setai_select()))
    else:
        return None
    with engine.connect() as conn:
        n = conn.execute(q).scalar_one()
    if not n:
        return None
    unit = "人" if "atena_no" in src.c else "世帯"
    return (f"支援措置対象者 {n} {unit}を含む (スコープ {shien.SCOPE})" if with_shien
            else f"支援措置対象者 {n} {unit}を除外 (スコープ {shien.SCOPE} がない)")


def _fmt_from_suffix(out: Path) -> str:
    suf = Path(out).suffix.lower().lstrip(".")
    return {"xlsx": "xlsx", "parquet": "parquet", "pq": "parquet"}.get(suf, "csv")


def audit_log(engine: Engine, limit: int = 100, name: str | None = None) -> list[dict]:
    t = build_metadata().tables[EUC_AUDIT]
    stmt = select(t).order_by(t.c.audit_id.desc()).limit(limit)
    if name:
        stmt = stmt.where(t.c.definition_name == name)
    with engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
    for r in rows:
        r.pop("definition_json", None)
    return rows


def get_audit(engine: Engine, audit_id: int) -> dict | None:
    t = build_metadata().tables[EUC_AUDIT]
    with engine.connect() as conn:
        m = conn.execute(select(t).where(t.c.audit_id == audit_id)).mappings().first()
    if m is None:
        return None
    r = dict(m)
    r["definition"] = json.loads(r.pop("definition_json") or "null")
    return r
