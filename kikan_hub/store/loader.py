"""Load a rehearsal's staged Parquet into the store in ONE transaction.

The source's earlier rows are deleted and the new rows bulk-inserted through ADBC (COPY on
PostgreSQL, prepared batch inserts on SQLite) inside the same transaction as the ledger row,
so a killed or failed load leaves the store exactly as it was.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, insert, select

from kikan_hub.store.engine import StoreError, adbc_connect
from kikan_hub.store.schema import CONTROL, LEDGER, build_metadata


@dataclass
class StagedRun:
    run_id: str
    source_keys: list[str]
    tables: dict[str, Path]                 # table id → staged Parquet
    controls: list[dict] = field(default_factory=list)
    target_tables: list[str] = field(default_factory=list)


def _for_sqlite(tbl: pa.Table) -> pa.Table:
    """SQLite keeps dates as ISO text and decimals as text (what SQLAlchemy reads back)."""
    cols = []
    for name, col in zip(tbl.column_names, tbl.columns):
        if pa.types.is_date(col.type) or pa.types.is_decimal(col.type):
            col = pc.cast(col, pa.string())
        cols.append(col)
    return pa.table(cols, names=tbl.column_names)


def _next_attempt(engine: Engine, run_id: str) -> int:
    md = build_metadata()
    ledger = md.tables[LEDGER]
    with engine.connect() as conn:
        n = conn.execute(select(func.max(ledger.c.attempt)).where(ledger.c.run_id == run_id)).scalar()
    return (n or 0) + 1


def _ledger_row(ledger: dict, summary: dict, attempt: int) -> dict:
    row = dict(ledger)
    row["attempt"] = attempt
    row["finished_at"] = dt.datetime.now(dt.timezone.utc)
    row["summary_json"] = json.dumps(summary, ensure_ascii=False, default=str, sort_keys=True)
    return row


def record_attempt(engine: Engine, ledger: dict, summary: dict) -> None:
    """A rejected run leaves only its ledger row."""
    md = build_metadata()
    with engine.begin() as conn:
        conn.execute(insert(md.tables[LEDGER]), [_ledger_row(ledger, summary, _next_attempt(engine, ledger["run_id"]))])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_run(engine: Engine, staged: StagedRun, ledger: dict, summary: dict) -> None:
    md = build_metadata()
    dialect = engine.dialect.name
    ph = "?" if dialect == "sqlite" else "$1"
    attempt = _next_attempt(engine, staged.run_id)
    row = _ledger_row(ledger, summary, attempt)
    try:
        conn = adbc_connect(engine)
    except Exception as exc:
        raise StoreError(f"ストアに接続できません: {exc}") from None
    try:
        cur = conn.cursor()
        for table_id in sorted(set(staged.target_tables) | set(staged.tables)):
            for key in staged.source_keys:
                cur.execute(f"DELETE FROM {_q(table_id)} WHERE {_q('_source_file')} = {ph}", parameters=(key,))
        for key in staged.source_keys:
            cur.execute(f"DELETE FROM {_q(CONTROL)} WHERE source_key = {ph}", parameters=(key,))
        for table_id, path in sorted(staged.tables.items()):
            pf = pq.ParquetFile(path)
            for batch in pf.iter_batches(batch_size=65536):
                tbl = pa.Table.from_batches([batch])
                if dialect == "sqlite":
                    tbl = _for_sqlite(tbl)
                cur.adbc_ingest(table_id, tbl, mode="append")
        if staged.controls:
            ctl = pa.Table.from_pylist(staged.controls, schema=pa.schema([
                ("source_key", pa.string()), ("record_no", pa.int64()), ("record_type", pa.string()),
                ("source_offset", pa.int64()), ("source_sha256", pa.string()), ("raw", pa.binary()),
                ("fields_json", pa.string()), ("_run_id", pa.string())]))
            cur.adbc_ingest(CONTROL, ctl, mode="append")
        led_cols = [c.name for c in md.tables[LEDGER].columns]
        values = [row.get(c) for c in led_cols]
        if dialect == "sqlite":
            values = [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in values]
            marks = ", ".join("?" for _ in led_cols)
        else:
            marks = ", ".join(f"${i}" for i in range(1, len(led_cols) + 1))
        cur.execute(f"INSERT INTO {_q(LEDGER)} ({', '.join(_q(c) for c in led_cols)}) VALUES ({marks})",
                    parameters=tuple(values))
        conn.commit()
    except Exception as exc:
        conn.rollback()
        msg = str(exc)
        if "disk" in msg.lower() or "full" in msg.lower():
            raise StoreError(f"ディスクがいっぱいでロードできませんでした。ストアは変更されていません: {msg}") from None
        if "readonly" in msg.lower() or "permission" in msg.lower():
            raise StoreError(f"ストアに書き込む権限がありません。ストアは変更されていません: {msg}") from None
        raise
    finally:
        conn.close()
