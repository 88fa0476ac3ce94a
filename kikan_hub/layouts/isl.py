"""Load the 中間標準レイアウト (ISL) definitions: the one source of truth for canonical tables.

Every canonical table, the ISL export and the interface schemas derive from these
definitions. This module only reads data files; it knows nothing of SQL or Arrow.
"""
from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import CodeTableFile, IslDefinition, IslItem, ItemType, PersonalKind
from kikan_hub.layouts.definitions_path import clash, extra_folders
from kikan_hub.layouts.errors import LayoutError

DEFINITIONS_DIR = Path(__file__).parent / "intermediate_standard"
ITEM_TYPES = set(typing.get_args(ItemType))

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


def load_definition(path: Path) -> GyomuDefinition:
    """One ISL definition file, validated against its model (definition_models.IslDefinition)."""
    model = strict_yaml.load(IslDefinition, path)
    tables = tuple(
        Table(id=t.id, name=t.name, gyomu_id=model.gyomu_id, description=t.description,
              primary_key=tuple(t.primary_key), items=tuple(_item(it) for it in t.items))
        for t in model.tables)
    return GyomuDefinition(gyomu=model.gyomu, gyomu_id=model.gyomu_id, version=model.version,
                           provenance=model.provenance, path=path, tables=tables)


def _item(it: IslItem) -> Item:
    return Item(id=it.id, name=it.name, type=it.type, length=it.length, gaiji=it.gaiji, code=it.code,
                required=it.required, provenance=it.provenance, scale=it.scale, check=it.check,
                unknown_allowed=it.unknown_allowed, personal=it.personal,
                required_when=tuple((k, tuple(v)) for k, v in it.required_when.items()),
                required_except=it.required_except)


def personal_kinds() -> frozenset[str]:
    """The `personal:` kinds an item may carry (layouts/personal.yaml, the one policy)."""
    return frozenset(get_args(PersonalKind))


def definitions_dir() -> Path:
    """The shipped definitions (KIKAN_ISL_DIR replaces them, for tests of a modified copy)."""
    return Path(os.environ.get("KIKAN_ISL_DIR", DEFINITIONS_DIR))


def definition_folders() -> tuple[Path, ...]:
    """The shipped definitions folder, then every folder on KIKAN_DEFINITIONS_PATH."""
    return (definitions_dir(), *extra_folders())


def load_definitions(directory: str | None = None) -> dict[str, GyomuDefinition]:
    """Every ISL definition, keyed by gyomu_id (a second file of one 業務 in a folder: gyomu_id:stem).

    With ``directory``: that folder only. Without: the shipped folder and KIKAN_DEFINITIONS_PATH,
    where a 業務, table or code table defined in two folders is an error naming both files.
    """
    if directory:
        return _load_folder(str(directory))
    return _load_all(tuple(str(f) for f in definition_folders()))


@lru_cache(maxsize=16)
def _load_folder(directory: str) -> dict[str, GyomuDefinition]:
    out: dict[str, GyomuDefinition] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        d = load_definition(path)
        out[d.gyomu_id + ("" if d.gyomu_id not in out else f":{path.stem}")] = d
    return out


@lru_cache(maxsize=8)
def _load_all(folders: tuple[str, ...]) -> dict[str, GyomuDefinition]:
    out: dict[str, GyomuDefinition] = {}
    gyomu_file: dict[str, Path] = {}
    table_file: dict[str, Path] = {}
    for folder in folders:
        defs = _load_folder(folder)
        for d in defs.values():
            first = gyomu_file.get(d.gyomu_id)
            if first is not None and first.parent != d.path.parent:  # one folder may split a 業務 in files
                raise clash("業務 (gyomu_id)", d.gyomu_id, first, d.path)
            gyomu_file.setdefault(d.gyomu_id, d.path)
            for t in d.tables:
                if t.id in table_file:
                    raise clash("ISL table", t.id, table_file[t.id], d.path)
                table_file[t.id] = d.path
        for key, d in defs.items():
            out[key if key not in out else f"{key}:{Path(folder).name}"] = d
    _code_files(folders)  # a code table defined twice is an error for every command, not only on use
    return out


load_definitions.cache_clear = lambda: (_load_folder.cache_clear(), _load_all.cache_clear())  # type: ignore[attr-defined]


def all_tables(directory: str | None = None) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    where: dict[str, Path] = {}
    for d in load_definitions(directory).values():
        for t in d.tables:
            if t.id in tables:
                raise clash("ISL table", t.id, where[t.id], d.path)
            tables[t.id] = t
            where[t.id] = d.path
    return tables


def get_table(table_id: str) -> Table:
    try:
        return all_tables()[table_id]
    except KeyError:
        raise LayoutError(definitions_dir(), f"no ISL table {table_id!r}") from None


@lru_cache(maxsize=8)
def _code_files(folders: tuple[str, ...]) -> dict[str, Path]:
    """Code table id → its file, over the codes/ of every definitions folder; a clash is an error."""
    out: dict[str, Path] = {}
    for folder in folders:
        for path in sorted((Path(folder) / "codes").glob("*.yaml")):
            if path.stem in out:
                raise clash("code table", path.stem, out[path.stem], path)
            out[path.stem] = path
    return out


def code_table_path(code_id: str) -> Path:
    """The file of a code table (shipped or on KIKAN_DEFINITIONS_PATH); a missing one names the shipped path."""
    return _code_files(tuple(str(f) for f in definition_folders())).get(code_id) \
        or definitions_dir() / "codes" / f"{code_id}.yaml"


def load_code_table(code_id: str, directory: str | None = None) -> CodeTable:
    path = Path(directory) / f"{code_id}.yaml" if directory else code_table_path(code_id)
    return _load_code_table(path)


@lru_cache(maxsize=256)
def _load_code_table(path: Path) -> CodeTable:
    model = strict_yaml.load(CodeTableFile, path, what="コード表")
    if model.id != path.stem:  # items name a code table by its file: the two must agree
        raise LayoutError(path, f"id: {model.id!r} differs from the file name {path.name!r} (id と同じ名前のファイルに)")
    return CodeTable(id=model.id, name=model.name, codes=dict(model.codes), provenance=model.provenance,
                     extra=model.extra)
