"""The canonical tables of a store as polars frames, and the gate run on them.

This lives in store/ because reading the store is the store's job: validation/ judges frames and
knows nothing of where they come from (the arrow: validation ← store).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
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


STREAM_ROWS = 65_536   # rows fetched from the store and written to Parquet at a time


def store_tables_to_parquet(engine: sa.Engine, out_dir: Path, table_ids: list[str] | None = None,
                            batch_rows: int = STREAM_ROWS) -> dict[str, Path]:
    """Canonical tables of a store written to OUT_DIR/<table>.parquet batch by batch (a server-side
    cursor on PostgreSQL), so that no table is ever held whole: the gate then reads the files as it
    reads a rehearsal's staging (row rules in batches, group rules by key partition). Only the
    tables that exist and have rows, as read_store_tables."""
    md = build_metadata()
    existing = set(sa.inspect(engine).get_table_names())
    out: dict[str, Path] = {}
    for tid in table_ids or sorted(all_tables()):
        if tid not in existing:
            continue
        schema = _polars_schema(tid)
        path = Path(out_dir) / f"{tid}.parquet"
        writer: pq.ParquetWriter | None = None
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(sa.select(md.tables[tid]))
            for part in result.mappings().partitions(batch_rows):
                table = pl.DataFrame([dict(r) for r in part], schema=schema, orient="row", strict=False).to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
        if writer is not None:
            writer.close()
            out[tid] = path
    return out


def validate_store(engine: sa.Engine, gyomu: str | None = None, tables: list[str] | None = None) -> ValidationResult:
    """The catalogue's gate rules on a store's canonical tables (same counts as on the staged rows),
    in bounded memory: the tables are streamed to temporary Parquet files and judged from there."""
    with tempfile.TemporaryDirectory(prefix="kikan-store-validate-") as tmp:
        return validate_tables(store_tables_to_parquet(engine, Path(tmp), tables), gyomu=gyomu)
