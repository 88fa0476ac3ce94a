"""Rehearsal throughput against a raw Arrow CSV read of the same records, in one run.

    .venv/bin/python bench/rehearsal.py [--residents 1000000] [--work var/bench]

Generates the sample extract once (cached by size and seed), writes the same records as
UTF-8 CSV (the baseline's input, not timed), then measures:
(peak RSS is each process's own VmHWM, reported in summary.json: the rehearsal and its
bulk-load child; a parent's rusage would count pages a fork shares with this script)
  baseline  pyarrow.csv.read_csv of the UTF-8 CSV
  hub       `kikan rehearse` end to end (read → map → resolve → check → load into SQLite)
and prints records/s, peak RSS of the rehearsal, and the ratio hub / baseline.
Bar (issue 2): ratio ≤ 20, peak RSS < 1 GiB.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

PROJECT = Path(__file__).resolve().parents[1]


def kikan(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], check=True, cwd=PROJECT)
    return time.perf_counter() - t0


def write_baseline_csv(sample: Path, out: Path) -> tuple[int, int]:
    """The same records as UTF-8 CSV: decoded by the hub's reader once, untimed."""
    from kikan_hub.adapters.reader import read_file
    from kikan_hub.pipeline.manifest import load_manifest

    m = load_manifest(sample / "manifest.yaml", check_encoding=False)
    n = header_lines = 0
    writers: dict[str, pacsv.CSVWriter] = {}
    for f in m.files:
        for rtype, batch in read_file(f.path, f.layout, encoding=f.encoding):
            cols = [c for c in batch.schema.names if not c.startswith("_")]
            n += batch.num_rows
            if not cols:  # a CSV header line: counted as a record, nothing for the baseline to parse
                header_lines += batch.num_rows
                continue
            tbl = pa.Table.from_batches([batch]).select(cols)
            tbl = pa.table({c: tbl[c].cast(pa.string()) for c in cols})
            key = f"{f.id}_{rtype}"
            if key not in writers:
                writers[key] = pacsv.CSVWriter(out / f"{key}.csv", tbl.schema)
            writers[key].write_table(tbl)
    for w in writers.values():
        w.close()
    return n, header_lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=PROJECT / "var" / "bench")
    a = ap.parse_args()
    sample = a.work / f"sample-{a.residents}-{a.seed}"
    if not (sample / "manifest.yaml").exists():
        print(f"generating {a.residents:,} residents …", flush=True)
        gen = kikan("sample", "--residents", str(a.residents), "--out", str(sample), "--seed", str(a.seed))
        print(f"  generated in {gen:.1f} s")
    csv_dir = a.work / f"csv-{a.residents}-{a.seed}"
    if csv_dir.exists():
        shutil.rmtree(csv_dir)
    csv_dir.mkdir(parents=True)
    records, header_lines = write_baseline_csv(sample, csv_dir)

    t0 = time.perf_counter()
    rows = sum(pacsv.read_csv(p).num_rows for p in sorted(csv_dir.glob("*.csv")))
    baseline = time.perf_counter() - t0
    assert rows + header_lines == records, (rows, header_lines, records)

    db = a.work / "bench.db"
    for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        p.unlink(missing_ok=True)
    run_dir = a.work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    hub = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{db}", "--run-dir", str(run_dir), "--quiet")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    mem = summary["memory"]
    peak_mib = max(v for v in mem.values() if v is not None)
    assert summary["records_read"] == records, (summary["records_read"], records)

    print()
    print(f"records                  {records:,} ({a.residents:,} residents)")
    print(f"baseline read_csv        {baseline:8.2f} s  {records / baseline:12,.0f} rec/s")
    print(f"kikan rehearse (SQLite)  {hub:8.2f} s  {records / hub:12,.0f} rec/s")
    print(f"ratio hub / baseline     {hub / baseline:8.1f} ×   (bar ≤ 20)")
    print(f"peak RSS                 {peak_mib:8.0f} MiB (bar < 1024)  {json.dumps(mem)}")
    print(f"stage timings            {json.dumps(summary['timings'])}")


if __name__ == "__main__":
    main()
