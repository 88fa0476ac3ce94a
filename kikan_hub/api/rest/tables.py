"""Every ISL table as an interface resource, derived from the loaded definitions (nothing per 業務 here).

``table_specs()`` reads ``all_tables()`` (the shipped definitions and every folder on
KIKAN_DEFINITIONS_PATH) and gives, per table: its public 業務 name and resource (the scope model of
``auth/scopes.py``: ``zei_kojin_nozeigimusha`` → ``kojin_juminzei`` / ``nozeigimusha``), its read scope,
the 個人番号 grant of its 業務, the columns an answer carries, and pydantic models generated from the
definition (types from ``layouts/types.py``). ``TableReader`` runs the three reads every table offers:
by 宛名番号, by primary key, and the change feed (``feed.py``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from sqlalchemy import Engine, select

from kikan_hub.api.auth import scopes as sc
from kikan_hub.api.soap.xsd_gen import MAX_ENUM
from kikan_hub.layouts.isl import Column, Table, all_tables, load_code_table
from kikan_hub.layouts.types import openapi_schema, pydantic_type, python_type
from kikan_hub.modules import shien
from kikan_hub.store.schema import build_metadata

MAX_ROWS = 1000   # one answer; more is what the change feed (paged) is for


@dataclass(frozen=True)
class TableSpec:
    table: Table
    gyomu: str            # public 業務 name (scopes.yaml): juki, kojin_juminzei, …
    resource: str         # the table id without its gyomu_id prefix
    scope: str            # <業務>:<resource>:read
    kojin_bango_scope: str

    @property
    def id(self) -> str:
        return self.table.id

    @property
    def columns(self) -> list[Column]:
        return [c for c in self.table.columns if c.role != "lineage"]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def has_atena(self) -> bool:
        return "atena_no" in self.column_names

    @property
    def key_columns(self) -> list[Column]:
        by = {c.name: c for c in self.columns}
        return [by[k] for k in self.table.primary_key]

    @property
    def extra_scopes(self) -> tuple[str, ...]:
        """支援措置 tables are readable only with the 支援措置 scope too, whatever else the caller holds (j160)."""
        return (shien.SCOPE,) if self.id in shien.SHIEN_TABLES and self.scope != shien.SCOPE else ()

    @property
    def operation(self) -> str:
        """The audit operation name (the pre-generation route kojin_juminzei.nozeigimusha keeps its name)."""
        return f"{self.gyomu}.{self.resource}"

    @property
    def hidden_without_grant(self) -> frozenset[str]:
        return sc.mynumber_columns(self.id)

    def model_name(self, suffix: str = "") -> str:
        return "".join(p.capitalize() for p in self.id.split("_")) + suffix


def _spec(t: Table) -> TableSpec:
    scope = sc.table_scope(t.id)
    gyomu, resource, _ = scope.split(":")
    return TableSpec(t, gyomu, resource, scope, sc.kojin_bango_scope(t.gyomu_id))


def table_specs() -> dict[str, TableSpec]:
    """Every loaded ISL table (call at app start: a definitions folder added later needs a restart)."""
    return {tid: _spec(t) for tid, t in all_tables().items()}


# --- models (OpenAPI) generated from the definition ------------------------------------------------
_MODELS: dict[tuple, type[BaseModel]] = {}


def _value_type(c: Column) -> Any:
    """A code item's values are its code table's: an enumeration, as in the XSD (tables up to MAX_ENUM codes)."""
    if c.role == "value" and c.item.code:
        codes = load_code_table(c.item.code).codes
        if len(codes) <= MAX_ENUM:
            return Annotated[python_type(c), WithJsonSchema({**openapi_schema(c), "enum": list(codes)})]
    return pydantic_type(c)


def record_model(spec: TableSpec, name: str | None = None) -> type[BaseModel]:
    """One optional field per column, typed by layouts/types.py, described by the item's name and 桁数."""
    key = (spec.table, name)
    if key not in _MODELS:
        fields: dict[str, Any] = {}
        for c in spec.columns:
            desc = f"{c.item.name}{c.suffix}"
            if c.role == "value" and c.item.code:
                desc += f" コード表 {c.item.code}"
            if c.name in spec.hidden_without_grant:
                desc += f" 個人番号: スコープ {spec.kojin_bango_scope} がある場合だけ返す (他は null)"
            fields[c.name] = (Optional[_value_type(c)], Field(None, description=desc))
        _MODELS[key] = create_model(name or spec.model_name(), __config__=ConfigDict(
            title=f"{spec.table.name} ({spec.id})"), **fields)
    return _MODELS[key]


def list_model(spec: TableSpec) -> type[BaseModel]:
    key = (spec.table, "list")
    if key not in _MODELS:
        _MODELS[key] = create_model(spec.model_name("List"), count=(int, ...),
                                    items=(list[record_model(spec)], ...))  # type: ignore[valid-type]
    return _MODELS[key]


def feed_model(spec: TableSpec) -> type[BaseModel]:
    key = (spec.table, "feed")
    if key not in _MODELS:
        change = create_model(spec.model_name("Change"), serial=(int, Field(description="連番 (単調増加)")),
                              record=(record_model(spec), ...))
        _MODELS[key] = create_model(
            spec.model_name("ChangePage"), count=(int, ...), items=(list[change], ...),  # type: ignore[valid-type]
            next_serial=(int, Field(description="次のページは since_serial にこの値を渡す")), has_more=(bool, ...))
    return _MODELS[key]


# --- reads ---------------------------------------------------------------------------------------
class KeyError_(ValueError):
    """A key value that is not one of the column's type (a client error, 422)."""


def parse_key_value(col: Column, raw: str) -> Any:
    typ = python_type(col)
    try:
        if typ is int:
            return int(raw)
        if typ is dt.date:
            return dt.date.fromisoformat(raw)
        if typ is bool:
            return raw.lower() in ("1", "true")
        if typ is not str:
            return typ(raw)
    except (ValueError, ArithmeticError):
        raise KeyError_(f"{col.name} の値が {col.type} ではありません") from None
    return raw


@lru_cache(maxsize=1)
def _metadata():
    return build_metadata()


@dataclass
class TableReader:
    engine: Engine
    spec: TableSpec

    @property
    def store_table(self):
        md = _metadata()
        if self.spec.id not in md.tables:   # a definition added after the first use (tests, restart-free dev)
            _metadata.cache_clear()
            md = _metadata()
        return md.tables[self.spec.id]

    def _rows(self, stmt) -> list[dict]:
        names = self.spec.column_names
        with self.engine.connect() as conn:
            return [{n: r[n] for n in names} for r in conn.execute(stmt).mappings()]

    def _order(self, t):
        return [t.c[k] for k in self.spec.table.primary_key]

    def by_atena(self, atena_no: str) -> list[dict]:
        t = self.store_table
        return self._rows(select(t).where(t.c.atena_no == atena_no).order_by(*self._order(t)).limit(MAX_ROWS))

    def by_key(self, values: dict[str, Any]) -> list[dict]:
        """Rows matching every given primary-key item (a leading part of the key is enough)."""
        t = self.store_table
        stmt = select(t)
        for k, v in values.items():
            stmt = stmt.where(t.c[k] == v)
        return self._rows(stmt.order_by(*self._order(t)).limit(MAX_ROWS))
