"""Load the 中間標準レイアウト (ISL) definitions: the one source of truth for canonical tables.

Every canonical table, the ISL export and the interface schemas derive from these
definitions. This module only reads data files; it knows nothing of SQL or Arrow.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kikan_hub.layouts.errors import LayoutError

DEFINITIONS_DIR = Path(__file__).parent / "intermediate_standard"
ITEM_TYPES = {"text", "kana", "digits", "integer", "decimal", "date", "wareki_date", "code", "flag"}

# Lineage columns every canonical table carries (name → logical type).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_run_id", "text"),
    ("_source_file", "text"),
    ("_source_sha256", "text"),
    ("_source_offset", "integer"),
    ("_record_no", "integer"),
    ("_flags", "text"),
)


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    type: str
    length: int
    gaiji: bool = False
    code: str | None = None
    required: bool = False
    provenance: str = ""
    scale: int = 0
    check: str | None = None
    unknown_allowed: bool = False
    personal: str | None = None
    # Conditional required-ness (j60): required when every (item, values) holds; `required_except`
    # names a state in which an empty value is allowed ("johyo": a 除票 row).
    required_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    required_except: str | None = None


@dataclass(frozen=True)
class Column:
    """A physical canonical column derived from an item (wareki dates give three)."""

    name: str
    type: str  # text | integer | decimal | date | flag
    length: int | None
    item: Item | None
    role: str = "value"  # value | literal | unknown | wareki | unknown_day | non_calendar | lineage

    @property
    def suffix(self) -> str:
        """What a derived column adds to its item's name (生年月日（和暦）)."""
        return ROLE_SUFFIXES.get(self.role, "")


# A wareki_date item x: x (ISO date), x_literal (as the source wrote it), x_unknown (no ISO date: 不詳 or
# not on the calendar), x_wareki (和暦 text: 昭和45年2月29日, 昭和45年2月日不詳 or the 不詳 text),
# x_unknown_day (不詳日: a part written 00, or a 不詳 text), x_non_calendar (a date the standard keeps
# but the calendar lacks, 2月30日; j80).
ROLE_SUFFIXES = {"literal": "（原文）", "unknown": "（不詳日）", "wareki": "（和暦）", "unknown_day": "（日不詳）",
                 "non_calendar": "（暦にない日）"}


@dataclass(frozen=True)
class Table:
    id: str
    name: str
    gyomu_id: str
    description: str
    primary_key: tuple[str, ...]
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"{self.id}: no item {item_id!r}")

    @property
    def columns(self) -> list[Column]:
        return table_columns(self)


@dataclass(frozen=True)
class GyomuDefinition:
    gyomu: str
    gyomu_id: str
    version: str
    provenance: str
    path: Path
    tables: tuple[Table, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CodeTable:
    id: str
    name: str
    codes: dict[str, str]
    provenance: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def table_columns(table: Table) -> list[Column]:
    cols: list[Column] = []
    for it in table.items:
        if it.type == "wareki_date":
            cols.append(Column(it.id, "date", None, it, "value"))
            cols.append(Column(f"{it.id}_literal", "text", 40, it, "literal"))
            cols.append(Column(f"{it.id}_unknown", "flag", None, it, "unknown"))
            cols.append(Column(f"{it.id}_wareki", "text", 40, it, "wareki"))
            cols.append(Column(f"{it.id}_unknown_day", "flag", None, it, "unknown_day"))
            cols.append(Column(f"{it.id}_non_calendar", "flag", None, it, "non_calendar"))
        elif it.type in ("text", "kana", "digits", "code"):
            # Length in characters; kana/text may hold IVS sequences, so leave room.
            cols.append(Column(it.id, "text", it.length * (2 if it.gaiji else 1), it))
        elif it.type == "date":
            cols.append(Column(it.id, "date", None, it))
        else:
            cols.append(Column(it.id, it.type, None, it))
    for name, typ in LINEAGE_COLUMNS:
        cols.append(Column(name, typ, None, None, "lineage"))
    return cols


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            # The C loader when libyaml is there: the code tables are large (続柄 alone is 16k codes).
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise LayoutError(path, f"YAML として読めません{where}: {exc}") from None
    except OSError as exc:
        raise LayoutError(path, f"ファイルを開けません: {exc.strerror}") from None


@lru_cache(maxsize=1)
def personal_kinds() -> frozenset[str]:
    """The kinds an item's ``personal:`` may name (layouts/personal.yaml; masking reads the same file)."""
    data = yaml.safe_load((Path(__file__).with_name("personal.yaml")).read_text(encoding="utf-8"))
    return frozenset(data["kinds"])


def _parse_item(path: Path, table_id: str, raw: Any) -> Item:
    if not isinstance(raw, dict) or "id" not in raw:
        raise LayoutError(path, f"table {table_id}: item without id: {raw!r}")
    iid = raw["id"]
    typ = raw.get("type")
    if typ not in ITEM_TYPES:
        raise LayoutError(path, f"table {table_id}, item {iid}: unknown type {typ!r} (one of {sorted(ITEM_TYPES)})")
    length = raw.get("length")
    if not isinstance(length, int) or length <= 0:
        raise LayoutError(path, f"table {table_id}, item {iid}: length must be a positive integer, got {length!r}")
    when = raw.get("required_when") or {}
    if not isinstance(when, dict) or not all(isinstance(v, list) and v for v in when.values()):
        raise LayoutError(path, f"table {table_id}, item {iid}: required_when must map items to lists of values")
    except_ = raw.get("required_except")
    if except_ not in (None, "johyo"):
        raise LayoutError(path, f"table {table_id}, item {iid}: required_except must be johyo, got {except_!r}")
    personal = raw.get("personal")
    if personal is not None and personal not in personal_kinds():
        raise LayoutError(path, f"table {table_id}, item {iid}: personal must be one of {sorted(personal_kinds())} "
                                f"(layouts/personal.yaml), got {personal!r}")
    return Item(
        id=str(iid), name=str(raw.get("name", iid)), type=typ, length=length,
        gaiji=bool(raw.get("gaiji", False)), code=raw.get("code"), required=bool(raw.get("required", False)),
        provenance=str(raw.get("provenance", "")), scale=int(raw.get("scale", 0) or 0),
        check=raw.get("check"), unknown_allowed=bool(raw.get("unknown_allowed", False)),
        personal=personal,
        required_when=tuple((str(k), tuple(str(x) for x in v)) for k, v in when.items()),
        required_except=except_,
    )


def load_definition(path: Path) -> GyomuDefinition:
    data = _load_yaml(path)
    if not isinstance(data, dict) or "tables" not in data:
        raise LayoutError(path, "an ISL definition needs gyomu, gyomu_id, version and tables")
    gyomu_id = str(data.get("gyomu_id", path.stem))
    tables = []
    for rt in data["tables"] or []:
        tid = rt.get("id")
        if not tid:
            raise LayoutError(path, f"table without id: {rt!r}")
        items = tuple(_parse_item(path, tid, it) for it in rt.get("items") or [])
        ids = [it.id for it in items]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise LayoutError(path, f"table {tid}: duplicate item ids {sorted(dup)}")
        for it in items:
            for k, _ in it.required_when:
                if k not in ids:
                    raise LayoutError(path, f"table {tid}, item {it.id}: required_when names {k!r}, not an item of the table")
        pk = tuple(rt.get("primary_key") or ())
        for k in pk:
            if k not in ids:
                raise LayoutError(path, f"table {tid}: primary key {k!r} is not an item")
        tables.append(Table(id=tid, name=str(rt.get("name", tid)), gyomu_id=gyomu_id,
                            description=str(rt.get("description", "")), primary_key=pk, items=items))
    return GyomuDefinition(gyomu=str(data.get("gyomu", gyomu_id)), gyomu_id=gyomu_id,
                           version=str(data.get("version", "")), provenance=str(data.get("provenance", "")),
                           path=path, tables=tuple(tables))


def definitions_dir() -> Path:
    return Path(os.environ.get("KIKAN_ISL_DIR", DEFINITIONS_DIR))


@lru_cache(maxsize=4)
def load_definitions(directory: str | None = None) -> dict[str, GyomuDefinition]:
    base = Path(directory) if directory else definitions_dir()
    out: dict[str, GyomuDefinition] = {}
    for path in sorted(base.glob("*.yaml")):
        d = load_definition(path)
        out[d.gyomu_id + ("" if d.gyomu_id not in out else f":{path.stem}")] = d
    return out


def all_tables(directory: str | None = None) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for d in load_definitions(directory).values():
        for t in d.tables:
            if t.id in tables:
                raise LayoutError(d.path, f"table id {t.id!r} is defined twice")
            tables[t.id] = t
    return tables


def get_table(table_id: str) -> Table:
    try:
        return all_tables()[table_id]
    except KeyError:
        raise LayoutError(definitions_dir(), f"no ISL table {table_id!r}") from None


@lru_cache(maxsize=128)
def load_code_table(code_id: str, directory: str | None = None) -> CodeTable:
    base = Path(directory) if directory else definitions_dir() / "codes"
    path = base / f"{code_id}.yaml"
    data = _load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        raise LayoutError(path, "a code table needs id, name and codes: {code: label}")
    codes = {str(k): str(v) for k, v in data["codes"].items()}
    extra = {k: v for k, v in data.items() if k not in {"id", "name", "codes", "provenance"}}
    return CodeTable(id=str(data.get("id", code_id)), name=str(data.get("name", code_id)), codes=codes,
                     provenance=str(data.get("provenance", "")), extra=extra)
