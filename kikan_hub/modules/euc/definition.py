"""EUC extraction definitions (jyuki-stnd j1360): items chosen from the ISL layout definitions by id,
filters, sort and an as-of date; saved in the store as JSON (YAML accepted on input)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, insert, select, update

from kikan_hub.layouts.isl import Column, Table, all_tables
from kikan_hub.mapping.typed_date import TypedDateError, parse_typed_date
from kikan_hub.modules.tables import EUC_DEFINITION
from kikan_hub.store.schema import build_metadata

OPS = {"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between", "like", "startswith", "contains",
       "is_null", "not_null"}
FORMATS = ("csv", "xlsx", "parquet")
ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
FOLD_POLICIES = ("mj", "geta", "strict")


class EucError(ValueError):
    """A definition or run a user can correct."""


@dataclass
class Filter:
    item: str
    op: str
    value: Any = None


@dataclass
class SortKey:
    item: str
    desc: bool = False


@dataclass
class ExtractionDefinition:
    name: str
    table: str
    items: list[str]
    filters: list[Filter] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    as_of: str | None = None         # None/"latest" = latest row per key; ISO date; "all" = every history row
    header: str = "name"             # name (データ項目名称) | id
    description: str = ""
    output: dict = field(default_factory=dict)   # defaults: {format, encoding, fold_policy}

    def to_dict(self) -> dict:
        return asdict(self)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, default=str)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    # ------------------------------------------------------------ derived
    @property
    def isl(self) -> Table:
        return all_tables()[self.table]

    def columns(self) -> list[Column]:
        by_name = {c.name: c for c in self.isl.columns if c.role != "lineage"}
        return [by_name[i] for i in self.items]

    def headers(self) -> list[str]:
        if self.header == "id":
            return list(self.items)
        out = []
        for c in self.columns():
            suffix = {"literal": "（原文）", "unknown": "（不詳）"}.get(c.role, c.suffix)
            out.append(c.item.name + suffix if c.item else c.name)
        return out

    @property
    def is_history(self) -> bool:
        return "rireki_no" in self.isl.primary_key


def _coerce(col: Column, v: Any) -> Any:
    if v is None:
        return None
    if col.type == "date":
        if isinstance(v, dt.date):
            return v
        try:
            return dt.date.fromisoformat(str(v))
        except ValueError:
            raise EucError(f"項目 {col.name}: 日付として読めません {v!r}") from None
    if col.type == "integer":
        try:
            return int(v)
        except (TypeError, ValueError):
            raise EucError(f"項目 {col.name}: 整数として読めません {v!r}") from None
    if col.type == "decimal":
        import decimal
        return decimal.Decimal(str(v))
    if col.type == "flag":
        if isinstance(v, bool):
            return v
        return str(v).strip().lower() in ("1", "true", "yes", "on", "はい")
    return str(v)


def parse_definition(data: dict | str, name: str | None = None) -> ExtractionDefinition:
    """Build and validate a definition from a dict, or YAML/JSON text."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise EucError(f"定義を YAML/JSON として読めません: {exc}") from None
    if not isinstance(data, dict):
        raise EucError("定義は name, table, items を持つ辞書です")
    name = name or data.get("name")
    if not name:
        raise EucError("定義に name がありません")
    tables = all_tables()
    table = data.get("table")
    if table not in tables:
        raise EucError(f"table {table!r} は中間標準レイアウトの定義にありません ({', '.join(sorted(tables))})")
    isl = tables[table]
    cols = {c.name: c for c in isl.columns if c.role != "lineage"}
    items = data.get("items") or []
    if not isinstance(items, list) or not items:
        raise EucError("items (出力する項目 id の一覧) が必要です")
    bad = [i for i in items if i not in cols]
    if bad:
        raise EucError(f"{table} に無い項目 id: {bad} (使える id: {', '.join(cols)})")
    filters = []
    for f in data.get("filters") or []:
        if not isinstance(f, dict) or "item" not in f or "op" not in f:
            raise EucError(f"filter は {{item, op, value}}: {f!r}")
        if f["item"] not in cols:
            raise EucError(f"filter の項目 id が {table} にありません: {f['item']!r}")
        if f["op"] not in OPS:
            raise EucError(f"filter の演算子 {f['op']!r} は使えません ({', '.join(sorted(OPS))})")
        col = cols[f["item"]]
        v = f.get("value")
        if f["op"] in ("in", "not_in", "between"):
            if not isinstance(v, list) or (f["op"] == "between" and len(v) != 2):
                raise EucError(f"filter {f['item']} {f['op']}: value はリスト{'(2要素)' if f['op'] == 'between' else ''}")
            v = [_coerce(col, x) for x in v]
        elif f["op"] not in ("is_null", "not_null"):
            v = _coerce(col, v) if f["op"] not in ("like", "startswith", "contains") else str(v)
        filters.append(Filter(f["item"], f["op"], v))
    sort = []
    for s in data.get("sort") or []:
        if isinstance(s, str):
            s = {"item": s.lstrip("-"), "desc": s.startswith("-")}
        if s.get("item") not in cols:
            raise EucError(f"sort の項目 id が {table} にありません: {s.get('item')!r}")
        sort.append(SortKey(s["item"], bool(s.get("desc", False))))
    as_of = data.get("as_of")
    if isinstance(as_of, dt.date):
        as_of = as_of.isoformat()
    if as_of not in (None, "latest", "all"):
        try:
            as_of = parse_typed_date(str(as_of)).isoformat()  # 和暦 too (令和6年4月1日); kept as ISO
        except TypedDateError as exc:
            raise EucError(f"as_of は latest, all か日付: {exc}") from None
    if as_of is not None and as_of != "all" and "rireki_no" not in isl.primary_key:
        raise EucError(f"{table} は履歴テーブルではないので as_of は指定できません")
    header = data.get("header", "name")
    if header not in ("name", "id"):
        raise EucError("header は name (データ項目名称) か id")
    output = dict(data.get("output") or {})
    if output.get("format", "csv") not in FORMATS:
        raise EucError(f"output.format は {FORMATS}")
    if output.get("encoding", "utf-8") not in ENCODINGS:
        raise EucError(f"output.encoding は {ENCODINGS}")
    if output.get("fold_policy", "mj") not in FOLD_POLICIES:
        raise EucError(f"output.fold_policy は {FOLD_POLICIES}")
    return ExtractionDefinition(name=str(name), table=table, items=list(items), filters=filters, sort=sort,
                                as_of=as_of, header=header, description=str(data.get("description", "")),
                                output=output)


def load_definition_file(path: Path) -> ExtractionDefinition:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EucError(f"{path}: {exc.strerror}") from None
    return parse_definition(text, name=None)


def _table():
    return build_metadata().tables[EUC_DEFINITION]


def save_definition(engine: Engine, d: ExtractionDefinition, who: str) -> int:
    """Insert or replace (version + 1). Returns the version."""
    t = _table()
    now = dt.datetime.now(dt.timezone.utc)
    body = d.canonical_json()
    with engine.begin() as conn:
        cur = conn.execute(select(t.c.version).where(t.c.name == d.name)).scalar()
        if cur is None:
            conn.execute(insert(t).values(name=d.name, version=1, body_json=body, created_by=who, created_at=now,
                                          updated_by=who, updated_at=now))
            return 1
        conn.execute(update(t).where(t.c.name == d.name).values(version=cur + 1, body_json=body, updated_by=who,
                                                                  updated_at=now))
        return cur + 1


def get_definition(engine: Engine, name: str) -> tuple[ExtractionDefinition, int]:
    t = _table()
    with engine.connect() as conn:
        r = conn.execute(select(t.c.body_json, t.c.version).where(t.c.name == name)).first()
    if r is None:
        raise EucError(f"抽出定義 {name!r} はありません")
    return parse_definition(json.loads(r.body_json)), int(r.version)


def list_definitions(engine: Engine) -> list[dict]:
    t = _table()
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.name)).mappings().all()
    out = []
    for r in rows:
        body = json.loads(r["body_json"])
        out.append({"name": r["name"], "version": r["version"], "table": body["table"], "items": body["items"],
                    "as_of": body.get("as_of"), "description": body.get("description", ""),
                    "updated_by": r["updated_by"], "updated_at": r["updated_at"]})
    return out
