"""EUC extraction definitions (jyuki-stnd j1360): items chosen from the ISL layout definitions by id,
filters, sort and an as-of date; saved in the store as JSON (YAML accepted on input)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import EucDefinitionFile, EucOp, EucOutput
from kikan_hub.layouts.isl import Column, Table, all_tables
from kikan_hub.mapping.typed_date import TypedDateError, parse_typed_date
from kikan_hub.modules.tables import EUC_DEFINITION
from kikan_hub.store.schema import build_metadata

OPS = set(typing.get_args(EucOp))
FORMATS = typing.get_args(EucOutput.model_fields["format"].annotation)
ENCODINGS = typing.get_args(EucOutput.model_fields["encoding"].annotation)
FOLD_POLICIES = typing.get_args(EucOutput.model_fields["fold_policy"].annotation)


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


def _euc_error(where: Path, message: str) -> EucError:
    return EucError(f"{where}: {message}")


def parse_definition(data: dict | str, name: str | None = None, source: str | Path = "抽出定義") -> ExtractionDefinition:
    """Build and validate a definition from a dict, or YAML/JSON text. Its shape is the model
    definition_models.EucDefinitionFile (``kikan schema euc-definition``); here what needs the ISL table."""
    if isinstance(data, str):
        data = strict_yaml.parse_yaml(data, source, _euc_error)
    m = strict_yaml.validate(EucDefinitionFile, data, source, _euc_error)
    name = name or m.name
    if not name:
        raise EucError(f"{source}: 定義に name がありません (missing key 'name')")
    tables = all_tables()
    if m.table not in tables:
        raise EucError(f"{source}: table {m.table!r} は中間標準レイアウトの定義にありません ({', '.join(sorted(tables))})")
    isl = tables[m.table]
    cols = {c.name: c for c in isl.columns if c.role != "lineage"}
    bad = [i for i in m.items if i not in cols]
    if bad:
        raise EucError(f"{source}: items: {m.table} に無い項目 id: {bad} (使える id: {', '.join(cols)})")
    filters = []
    for i, f in enumerate(m.filters):
        where = f"{source}: filters[{i}]({f.item})"
        if f.item not in cols:
            raise EucError(f"{where}: 項目 id が {m.table} にありません")
        col = cols[f.item]
        v = f.value
        if f.op in ("in", "not_in", "between"):
            if not isinstance(v, list) or (f.op == "between" and len(v) != 2):
                raise EucError(f"{where}: {f.op} の value はリスト{'(2要素)' if f.op == 'between' else ''}")
            v = [_coerce(col, x) for x in v]
        elif f.op not in ("is_null", "not_null"):
            v = _coerce(col, v) if f.op not in ("like", "startswith", "contains") else str(v)
        filters.append(Filter(f.item, f.op, v))
    for i, k in enumerate(m.sort):
        if k.item not in cols:
            raise EucError(f"{source}: sort[{i}]: 項目 id が {m.table} にありません: {k.item!r}")
    as_of = m.as_of
    if as_of not in (None, "latest", "all"):
        try:
            as_of = parse_typed_date(str(as_of)).isoformat()  # 和暦 too (令和6年4月1日); kept as ISO
        except TypedDateError as exc:
            raise EucError(f"{source}: as_of は latest, all か日付: {exc}") from None
    if as_of is not None and as_of != "all" and "rireki_no" not in isl.primary_key:
        raise EucError(f"{source}: {m.table} は履歴テーブルではないので as_of は指定できません")
    return ExtractionDefinition(name=str(name), table=m.table, items=list(m.items), filters=filters,
                                sort=[SortKey(k.item, k.desc) for k in m.sort], as_of=as_of, header=m.header,
                                description=m.description, output=m.output.model_dump(exclude_unset=True))


def load_definition_file(path: Path) -> ExtractionDefinition:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EucError(f"{path}: {exc.strerror}") from None
    return parse_definition(text, name=None, source=path)


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
