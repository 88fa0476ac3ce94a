"""The bulk-load child: one transaction through ADBC, fed a stream of framed commands on stdin.

Every load runs in a child process (`python -m kikan_hub.store.bulk_job`):
- SQLite: the ADBC driver carries its own copy of the SQLite library, and two copies in one
  process would not see each other's POSIX locks (the "multiple copies of SQLite" hazard),
  so the parent keeps Python's sqlite3 and the child keeps ADBC's;
- both databases: the rehearsal streams batches here while it is still reading, so the
  inserts run on the second core, and the load's memory is not the rehearsal's.

Protocol (parent → child, stdin): frames of one JSON header line, followed by ``bytes``
bytes of payload where the header says so::

    {"op": "begin", "dialect", "database", "deletes": [[table, column, value]]}
    {"op": "ingest", "table", "bytes": n}  + an Arrow IPC stream of n bytes
    {"op": "end_table", "table"}
    {"op": "insert", "table", "row": {column: value}, "casts": {column: SQL type}}
    {"op": "commit"}

Nothing is committed before ``commit``: end of input without it (the parent failed, was
killed, or the gate rejected the run) rolls the transaction back. The child answers on
stdout with one JSON line: {"ok": true, "peak_rss_mib", "busy_s"} or {"error": "..."}.
This module must not import sqlite3 or SQLAlchemy.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.faults import checkpoint


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


def _connect(dialect: str, database: str):
    if dialect == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc
        return adbc.connect(database)
    import adbc_driver_postgresql.dbapi as adbc
    return adbc.connect(database)


class _Transaction:
    """The child's side: applies commands to one open transaction."""

    def __init__(self, dialect: str, database: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.conn = _connect(dialect, database)
        self.cur = self.conn.cursor()
        if self.sqlite:
            self.cur.execute("PRAGMA busy_timeout=60000")
            self.cur.execute("PRAGMA cache_size=-131072")  # 128 MiB of pages: the primary-key B-trees stay in memory
            self.cur.execute("PRAGMA temp_store=MEMORY")
        checkpoint("load:connected")

    def delete(self, table: str, column: str, value: Any) -> None:
        ph = "?" if self.sqlite else "$1"
        self.cur.execute(f"DELETE FROM {_q(table)} WHERE {_q(column)} = {ph}", parameters=(value,))
        checkpoint("load:after_delete")

    def ingest(self, table: str, tbl: pa.Table) -> None:
        self.cur.adbc_ingest(table, _for_sqlite(tbl) if self.sqlite else tbl, mode="append")
        checkpoint("load:ingest_batch")

    def insert(self, table: str, row: dict, casts: dict[str, str]) -> None:
        cols = list(row)
        marks = ", ".join("?" if self.sqlite else f"${i}" + (f"::{casts[c]}" if c in casts else "")
                          for i, c in enumerate(cols, 1))
        self.cur.execute(f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) VALUES ({marks})",
                         parameters=tuple(row[c] for c in cols))

    def commit(self) -> None:
        checkpoint("load:before_commit")
        self.conn.commit()
        checkpoint("load:after_commit")

    def rollback(self) -> None:
        try:
            self.conn.rollback()
        except Exception:  # noqa: BLE001 — SQLite rolls back by itself on SQLITE_FULL / IOERR: keep the real error
            pass

    def close(self) -> None:
        self.conn.close()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the rehearsal stopped sending mid-batch")
    return data


def serve(stream: BinaryIO) -> dict:
    """Apply the command stream; returns facts for the parent. Raises on any failure (rolled back)."""
    tx: _Transaction | None = None
    committed = False
    busy = 0.0
    try:
        for line in stream:
            cmd = json.loads(line)
            t0 = time.perf_counter()
            op = cmd["op"]
            if op == "begin":
                tx = _Transaction(cmd["dialect"], cmd["database"])
                for table, column, value in cmd.get("deletes", []):
                    tx.delete(table, column, value)
                checkpoint("load:after_deletes")
            elif tx is None:
                raise ValueError(f"bulk load: {op!r} before begin")
            elif op == "ingest":
                payload = _read_exact(stream, int(cmd["bytes"]))
                tx.ingest(cmd["table"], pa.ipc.open_stream(payload).read_all())
            elif op == "end_table":
                checkpoint("load:after_table")
            elif op == "insert":
                tx.insert(cmd["table"], cmd["row"], cmd.get("casts", {}))
            elif op == "commit":
                tx.commit()
                committed = True
                return {"ok": True, "peak_rss_mib": round(peak_rss_mib(), 1), "busy_s": round(busy, 2)}
            else:
                raise ValueError(f"bulk load: unknown command {op!r}")
            busy += time.perf_counter() - t0
        return {"rolled_back": True}  # end of input without commit: the parent gave up (rejected, failed or killed)
    finally:
        if tx is not None:
            if not committed:
                tx.rollback()
            tx.close()


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
    try:
        result = serve(sys.stdin.buffer)
    except Exception as exc:  # the parent turns this into a user-facing StoreError
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
