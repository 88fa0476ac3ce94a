"""Load a rehearsal's staged Parquet into the store in ONE transaction.

The source's earlier rows are deleted and the new rows bulk-inserted through ADBC (COPY on
PostgreSQL, prepared batch inserts on SQLite) inside the same transaction as the ledger row,
so a killed or failed load leaves the store exactly as it was.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, insert, select

from kikan_hub.store.bulk_job import execute_job
from kikan_hub.store.engine import StoreError
from kikan_hub.store.schema import CONTROL, LEDGER, build_metadata

CONTROL_SCHEMA = pa.schema([
    ("source_key", pa.string()), ("record_no", pa.int64()), ("record_type", pa.string()),
    ("source_offset", pa.int64()), ("source_sha256", pa.string()), ("raw", pa.binary()),
    ("fields_json", pa.string()), ("_run_id", pa.string())])


@dataclass
class StagedRun:
    run_id: str
    source_keys: list[str]
    tables: dict[str, Path]                 # table id → staged Parquet
    controls: list[dict] = field(default_factory=list)
    target_tables: list[str] = field(default_factory=list)


def _next_attempt(engine: Engine, run_id: str) -> int:
    ledger = build_metadata().tables[LEDGER]
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


def _explain(msg: str) -> StoreError:
    low = msg.lower()
    if "full" in low or "no space" in low:
        return StoreError(f"ディスクがいっぱいでロードできませんでした。ストアは変更されていません (disk full): {msg}")
    if "readonly" in low or "read-only" in low or "permission" in low:
        return StoreError(f"ストアに書き込む権限がありません。ストアは変更されていません (permission denied): {msg}")
    return StoreError(f"ロードに失敗しました。ストアは変更されていません (load failed, store unchanged): {msg}")


def load_run(engine: Engine, staged: StagedRun, ledger: dict, summary: dict, work_dir: Path | None = None,
             batch_rows: int | None = None) -> None:
    dialect = engine.dialect.name
    row = _ledger_row(ledger, summary, _next_attempt(engine, staged.run_id))
    deletes = [[t, "_source_file", key] for t in sorted(set(staged.target_tables) | set(staged.tables))
               for key in staged.source_keys]
    deletes += [[CONTROL, "source_key", key] for key in staged.source_keys]
    ingest = [[t, str(p)] for t, p in sorted(staged.tables.items())]
    if staged.controls:
        ctl_path = (work_dir or Path(next(iter(staged.tables.values()), Path(".")).parent)) / "_control_records.parquet"
        ctl_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(staged.controls, schema=CONTROL_SCHEMA), ctl_path)
        ingest.append([CONTROL, str(ctl_path)])
    if dialect == "sqlite":
        row = {k: (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v) for k, v in row.items()}
        job = {"dialect": "sqlite", "database": engine.url.database}
    elif dialect == "postgresql":
        job = {"dialect": "postgresql",
               "database": engine.url.set(drivername="postgresql").render_as_string(hide_password=False)}
    else:
        raise StoreError(f"no bulk-load path for {dialect}")
    job.update(deletes=deletes, ingest=ingest, inserts=[[LEDGER, row]], batch_rows=batch_rows or 65536)
    if dialect == "sqlite":
        engine.dispose()  # no pooled sqlite3 connection stays open across the child's transaction
        proc = subprocess.run([sys.executable, "-m", "kikan_hub.store.bulk_job"], input=json.dumps(job, default=str),
                              capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"error": proc.stderr.strip()[-2000:] or f"exit {proc.returncode}"}
        if proc.returncode != 0 or "error" in result:
            raise _explain(result.get("error", ""))
        return {"load_peak_rss_mib": result.get("peak_rss_mib")}
    try:
        execute_job(job)
    except Exception as exc:
        raise _explain(f"{type(exc).__name__}: {exc}") from None
    return {}
