"""The canonical tables of a store as polars frames, and the gate run on them.

This lives in store/ because reading the store is the store's job: validation/ judges frames and
knows nothing of where they come from (the arrow: validation ← store).
"""
from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.schema import build_metadata
from kikan_hub.validation.engine import ValidationResult, _polars_schema, validate_tables


def read_store_tables(engine: sa.Engine, table_ids: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """Canonical tables of a store as polars frames (only the tables that exist and have rows)."""
    md = build_metadata()
    existing = set(sa.inspect(engine).get_table_names())
    out: dict[str, pl.DataFrame] = {}
    for tid in table_ids or sorted(all_tables()):
        if tid not in existing:
            continue
        with engine.connect() as conn:
            rows = conn.execute(sa.select(md.tables[tid])).mappings().all()
        if not rows:
            continue
        out[tid] = pl.DataFrame([dict(r) for r in rows], schema=_polars_schema(tid), orient="row", strict=False)
    return out


def validate_store(engine: sa.Engine, gyomu: str | None = None, tables: list[str] | None = None) -> ValidationResult:
    """The catalogue's gate rules on a store's canonical tables (same counts as on the staged rows)."""
    return validate_tables(read_store_tables(engine, tables), gyomu=gyomu)
