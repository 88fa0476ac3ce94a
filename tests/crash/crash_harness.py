"""Crash harness: drive the fork runner, snapshot a store, judge convergence."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from kikan_hub.store.content import store_content_hashes
from kikan_hub.store.engine import open_engine

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]

# Named kill points (KIKAN_FAULT_AT syntax, see kikan_hub/faults.py). With
# KIKAN_BATCH_ROWS=100 the 300-resident sample reads in ~10 batches. The load's child opens its
# transaction as the read begins and inserts each staged batch as it is made, so the `load:`
# points inside the child (connected … ingest_batch) fall during the read; `after_table` fires
# for each table when the read is over, and the commit only after the gate. `committed` says
# whether the new load must be in the store after the kill (False: exactly as before).
KILL_POINTS: list[tuple[str, bool]] = [
    ("prepare:after_upgrade", False),   # store opened and migrated, nothing read
    ("load:connected", False),          # bulk-load transaction open, nothing deleted
    ("load:after_delete@1", False),     # first table's earlier rows deleted (uncommitted)
    ("load:after_delete@2", False),     # between the deletes of two tables
    ("load:after_deletes", False),      # every earlier row deleted, nothing inserted
    ("read:batch@1", False),            # during read (first batch staged and sent)
    ("load:ingest_batch@1", False),     # first batch inserted
    ("read:batch@4", False),            # during read, mid-file
    ("load:ingest_batch@4", False),     # inserts under way beside the read
    ("read:after_file@1", False),       # between files (JUMIN done, SETAI not started)
    ("read:batch@11", False),           # during read of the second file (SETAI)
    ("load:ingest_batch@9", False),     # inserting SETAI's rows
    ("stage:closed", False),            # staging written and closed, gate not run
    ("load:after_table@1", False),      # the child has every row of the first table
    ("load:after_table@2", False),      # ... of both canonical tables, no control rows
    ("load:before", False),             # gate decided, commit not asked for
    ("load:after_table@3", False),      # control records in, ledger row not
    ("load:before_commit", False),      # ledger row inserted, COMMIT not sent
    ("load:after_commit", True),        # committed, the child dies before answering
    ("load:returned", True),            # load returned, report not written
    ("summary:before_write", True),     # report written, summary.json not
]


class Runner:
    """The warm fork runner (crash_runner.py) as a subprocess."""

    def __init__(self, warm_manifest: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "crash_runner.py")], cwd=PROJECT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._send({"manifest": str(warm_manifest)})
        assert json.loads(self.proc.stdout.readline()).get("ready"), "crash runner failed to start"

    def _send(self, obj: dict) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def run(self, manifest: Path, store: str, run_dir: Path, fault: str | None = None,
            kill_after: float | None = None, batch_rows: int = 100) -> dict:
        run_dir.mkdir(parents=True, exist_ok=True)
        log = run_dir.parent / f"{run_dir.name}.log"
        self._send({"manifest": str(manifest), "store": store, "run_dir": str(run_dir), "log": str(log),
                    "fault": fault, "kill_after": kill_after, "batch_rows": batch_rows})
        line = self.proc.stdout.readline()
        assert line, "crash runner died"
        res = json.loads(line)
        res["log"] = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return res

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass(frozen=True)
class Snapshot:
    content: tuple          # canonical tables (incl. lineage) + control records
    ledger: tuple           # (run_id, attempt, status, read, loaded, quarantined) in attempt order
    store_run_ids: tuple    # distinct _run_id values in the canonical tables


def snapshot(url: str) -> Snapshot:
    engine = open_engine(url)
    try:
        hashes = store_content_hashes(engine, include_lineage=True)
        h = hashlib.sha256()
        with engine.connect() as c:
            for r in c.execute(sa.text("select source_key, record_no, record_type, source_offset, source_sha256, raw, "
                                       "fields_json, _run_id from kikan_control_records "
                                       "order by source_key, record_no")):
                h.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)).encode())
            ledger = tuple(tuple(r) for r in c.execute(sa.text(
                "select run_id, attempt, status, records_read, records_loaded, records_quarantined "
                "from kikan_runs order by finished_at, run_id, attempt")))
            run_ids = set()
            for t in ("juki_jumin", "juki_setai"):
                run_ids |= set(c.execute(sa.text(f'select distinct "_run_id" from {t}')).scalars())
    finally:
        engine.dispose()
    return Snapshot(content=(tuple(sorted(hashes.items())), h.hexdigest()), ledger=ledger,
                    store_run_ids=tuple(sorted(run_ids)))


def ledger_problems(snap: Snapshot) -> list[str]:
    """The ledger is consistent: attempts count 1..k per run, the last loaded run is what the store holds."""
    problems = []
    attempts: dict[str, list[int]] = {}
    for run_id, attempt, status, read, loaded, quarantined in snap.ledger:
        attempts.setdefault(run_id, []).append(attempt)
        if status == "loaded" and read != loaded + quarantined:
            problems.append(f"ledger {run_id}#{attempt}: read {read} != loaded {loaded} + quarantined {quarantined}")
    for run_id, seq in attempts.items():
        if sorted(seq) != list(range(1, len(seq) + 1)):
            problems.append(f"ledger {run_id}: attempts {sorted(seq)} are not 1..{len(seq)}")
    loaded = [r for r in snap.ledger if r[2] == "loaded"]
    if loaded and snap.store_run_ids and snap.store_run_ids != (loaded[-1][0],):
        problems.append(f"store holds {snap.store_run_ids}, last loaded run in the ledger is {loaded[-1][0]}")
    if not loaded and snap.store_run_ids:
        problems.append(f"store holds {snap.store_run_ids} but the ledger has no loaded run")
    return problems


def run_dir_problems(run_dir: Path) -> list[str]:
    """A finished run's directory accounts for every record."""
    p = run_dir / "summary.json"
    if not p.exists():
        return [f"{run_dir}: no summary.json"]
    s = json.loads(p.read_text(encoding="utf-8"))
    problems = []
    if s["records_read"] != s["records_staged"] + s["records_quarantined"]:
        problems.append(f"{run_dir}: read != staged + quarantined")
    if s["records_loaded"] != (s["records_staged"] if s["status"] == "loaded" else 0):
        problems.append(f"{run_dir}: {s['status']} run says {s['records_loaded']} loaded")
    q = sum(pq.read_metadata(f).num_rows for f in (run_dir / "quarantine").glob("*.parquet"))
    if q != s["records_quarantined"]:
        problems.append(f"{run_dir}: {q} quarantined rows on disk, summary says {s['records_quarantined']}")
    if (run_dir / "summary.json.tmp").exists():
        problems.append(f"{run_dir}: stale summary.json.tmp")
    return problems
