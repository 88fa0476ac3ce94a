"""Load into the store in ONE transaction, run by the bulk-load child (store/bulk_job.py).

``LoadSession`` streams batches to the child as its producer makes them (a rehearsal sends
each staged batch while it is still reading); ``load_run`` loads staged Parquet files the
same way. The source's earlier rows are deleted and the new rows bulk-inserted through ADBC
(COPY on PostgreSQL, prepared batch inserts on SQLite) inside the same transaction as the
ledger row, so a killed or failed load leaves the store exactly as it was.
"""
from __future__ import annotations

import datetime as dt
import json
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, insert, select

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


def _explain(msg: str, after_commit_sent: bool = False) -> StoreError:
    low = msg.lower()
    if after_commit_sent and msg.startswith("exit "):
        # The child died without answering after it was told to commit: either side is possible.
        return StoreError(f"ロード処理が応答せずに終了しました ({msg})。コミット済みかどうかは台帳 kikan_runs で"
                          "確かめてください。同じ入力で再実行すると、どちらの場合も同じ結果になります")
    if "full" in low or "no space" in low:
        return StoreError(f"ディスクがいっぱいでロードできませんでした。ストアは変更されていません (disk full): {msg}")
    if "readonly" in low or "read-only" in low or "permission" in low:
        return StoreError(f"ストアに書き込む権限がありません。ストアは変更されていません (permission denied): {msg}")
    return StoreError(f"ロードに失敗しました。ストアは変更されていません (load failed, store unchanged): {msg}")


class LoadSession:
    """A bulk load running beside its producer: one transaction in the child, fed as batches arrive.

    Creating one starts the child, which deletes the sources' earlier rows; ``ingest`` queues a batch
    (a writer thread feeds the pipe, so the producer keeps reading while the child inserts);
    ``commit`` adds the control records and the ledger row and commits; ``abort`` (or any
    failure) rolls everything back. A failure in the child is raised, as a StoreError in
    the user's words, by the next call.
    """

    QUEUE_BATCHES = 1  # batches in flight: bounds the producer's lead and the memory it holds

    def __init__(self, engine: Engine, run_id: str, deletes: list[list], batch_rows: int | None = None) -> None:
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"no bulk-load path for {self.dialect}")
        self.batch_rows = batch_rows or 65536
        self.attempt = _next_attempt(engine, run_id)
        if self.dialect == "sqlite":
            database = engine.url.database
        else:
            database = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        engine.dispose()  # no pooled connection of ours stays open across the child's transaction
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "kikan_hub.store.bulk_job"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self._queue: queue.Queue = queue.Queue(maxsize=self.QUEUE_BATCHES)
        self._broken = threading.Event()
        self._writer = threading.Thread(target=self._feed, name="kikan-load-feed", daemon=True)
        self._writer.start()
        self._result: dict | None = None
        self._send({"op": "begin", "dialect": self.dialect, "database": database, "deletes": deletes})

    # -- the producer's side ------------------------------------------------------------
    def ingest(self, table: str, tbl: pa.Table) -> None:
        if tbl.num_rows:
            self._send({"op": "ingest", "table": table}, tbl)

    def ingest_parquet(self, table: str, path: Path) -> None:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_rows):
            self.ingest(table, pa.Table.from_batches([batch]))
        self.end_table(table)

    def end_table(self, table: str) -> None:
        self._send({"op": "end_table", "table": table})

    def commit(self, ledger: dict, summary: dict, controls: list[dict] | None = None) -> dict:
        if controls:
            self.ingest(CONTROL, pa.Table.from_pylist(controls, schema=CONTROL_SCHEMA))
            self.end_table(CONTROL)
        row = _ledger_row(ledger, summary, self.attempt)
        # JSON carries times as ISO text: SQLite keeps them so; PostgreSQL is told to cast them back.
        casts = {k: "timestamptz" for k, v in row.items() if isinstance(v, dt.datetime)}
        row = {k: (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v) for k, v in row.items()}
        self._send({"op": "insert", "table": LEDGER, "row": row, "casts": {} if self.dialect == "sqlite" else casts})
        self._send({"op": "commit"})
        result = self._finish()
        if "ok" not in result:
            raise _explain(result.get("error", "the load ended without committing"), after_commit_sent=True)
        return {"load_peak_rss_mib": result.get("peak_rss_mib"), "load_busy_s": result.get("busy_s")}

    def abort(self) -> None:
        """Roll back (end of input without commit) and wait for the child; never raises."""
        try:
            self._finish()
        except Exception:  # noqa: BLE001 — aborting after another failure: that one is reported
            pass

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, header: dict, tbl: pa.Table | None = None) -> None:
        if self._broken.is_set() or self._result is not None:
            raise _explain(self._finish().get("error", "the load has already ended"))
        self._queue.put((header, tbl))

    def _feed(self) -> None:
        """Writer thread: serialise and write frames; a dead child (broken pipe) stops it."""
        pipe = self.proc.stdin
        item: object = ...  # anything but None: the end marker has not been taken yet
        try:
            while (item := self._queue.get()) is not None:
                header, tbl = item
                payload = None
                if tbl is not None:
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, tbl.schema) as w:
                        w.write_table(tbl)
                    payload = sink.getvalue()
                    header = dict(header, bytes=payload.size)
                pipe.write(json.dumps(header, default=str).encode() + b"\n")
                if payload is not None:
                    pipe.write(payload)
        except Exception:  # noqa: BLE001 — broken pipe: the child stopped; its own answer says why
            self._broken.set()
            while item is not None:  # drain up to the end marker, so the producer never blocks on a dead child
                item = self._queue.get()
        finally:
            try:
                pipe.close()  # end of input: without a commit before it, the child rolls back
            except OSError:
                pass

    def _finish(self) -> dict:
        """Close the input (a rollback unless commit was sent), wait for the child, keep its answer."""
        if self._result is None:
            self._queue.put(None)
            self._writer.join()
            out = self.proc.stdout.read().decode("utf-8", "backslashreplace")
            self.proc.wait()
            lines = [ln for ln in out.splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1]) if lines else {}
            if self.proc.returncode != 0 and "error" not in result:
                self._stderr.seek(0)
                said = self._stderr.read().decode("utf-8", "backslashreplace").strip()[-2000:]
                result = {"error": f"exit {self.proc.returncode}" + (f": {said}" if said else "")}
            self._stderr.close()
            self._result = result
        return self._result


def source_deletes(source_keys: list[str], tables: list[str]) -> list[list]:
    """The deletes that make a load replace the sources' earlier rows (canonical and control)."""
    deletes = [[t, "_source_file", key] for t in sorted(set(tables)) for key in source_keys]
    return deletes + [[CONTROL, "source_key", key] for key in source_keys]


def load_run(engine: Engine, staged: StagedRun, ledger: dict, summary: dict, batch_rows: int | None = None) -> dict:
    """Load staged Parquet in one transaction that replaces the sources' earlier rows."""
    session = LoadSession(engine, staged.run_id,
                          source_deletes(staged.source_keys, list(set(staged.target_tables) | set(staged.tables))),
                          batch_rows)
    try:
        for table, path in sorted(staged.tables.items()):
            session.ingest_parquet(table, Path(path))
        return session.commit(ledger, summary, staged.controls)
    finally:
        session.abort()
