"""One bulk load as a single transaction through ADBC, described by a JSON-able job.

SQLite loads run this in a child process (`python -m kikan_hub.store.bulk_job`): the ADBC
driver carries its own copy of the SQLite library, and two copies in one process would
not see each other's POSIX locks (the "multiple copies of SQLite" hazard), so the parent
keeps Python's sqlite3 and the child keeps ADBC's. PostgreSQL runs it in-process.
This module must not import sqlite3 or SQLAlchemy.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kikan_hub.pipeline.faults import checkpoint  # a leaf module (imports nothing of the hub)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _for_sqlite(tbl: pa.Table) -> pa.Table:
    """SQLite keeps dates as ISO text and decimals as text (what SQLAlchemy reads back)."""
    cols = []
    for col in tbl.columns:
        if pa.types.is_date(col.type) or pa.types.is_decimal(col.type) or pa.types.is_timestamp(col.type):
            col = pc.cast(col, pa.string())
        cols.append(col)
    return pa.table(cols, names=tbl.column_names)


def connect(job: dict[str, Any]):
    if job["dialect"] == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc
        return adbc.connect(job["database"])
    import adbc_driver_postgresql.dbapi as adbc
    return adbc.connect(job["database"])


def execute_job(job: dict[str, Any]) -> None:
    """job: dialect, database, deletes [[table, column, value]], ingest [[table, parquet path]], inserts [[table, {col: val}]]."""
    sqlite = job["dialect"] == "sqlite"
    conn = connect(job)
    try:
        cur = conn.cursor()
        if sqlite:
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA cache_size=-131072")  # 128 MiB of pages: the primary-key B-trees stay in memory
            cur.execute("PRAGMA temp_store=MEMORY")
        checkpoint("load:connected")
        for table, column, value in job.get("deletes", []):
            ph = "?" if sqlite else "$1"
            cur.execute(f"DELETE FROM {_q(table)} WHERE {_q(column)} = {ph}", parameters=(value,))
            checkpoint("load:after_delete")
        checkpoint("load:after_deletes")
        for table, path in job.get("ingest", []):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=int(job.get("batch_rows") or 65536)):
                tbl = pa.Table.from_batches([batch])
                cur.adbc_ingest(table, _for_sqlite(tbl) if sqlite else tbl, mode="append")
                checkpoint("load:ingest_batch")
            checkpoint("load:after_table")
        for table, row in job.get("inserts", []):
            cols = list(row)
            marks = ", ".join("?" if sqlite else f"${i}" for i in range(1, len(cols) + 1))
            cur.execute(f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) VALUES ({marks})",
                        parameters=tuple(row[c] for c in cols))
        checkpoint("load:before_commit")
        conn.commit()
        checkpoint("load:after_commit")
    except BaseException:
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 — SQLite rolls back by itself on SQLITE_FULL / IOERR: keep the real error
            pass
        raise
    finally:
        conn.close()


def peak_rss_mib() -> float:
    """This process's own high-water RSS (VmHWM: per address space, so not inflated by a fork)."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    job = json.loads(sys.stdin.read())
    try:
        execute_job(job)
    except Exception as exc:  # the parent turns this into a user-facing StoreError
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False))
        return 1
    print(json.dumps({"ok": True, "peak_rss_mib": round(peak_rss_mib(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
