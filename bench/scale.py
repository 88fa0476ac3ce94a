"""Scale: 1M- and 10M-record rehearsals on SQLite and PostgreSQL — records/s and peak RSS.

    .venv/bin/python bench/scale.py [--records 1000000,10000000] [--dbs sqlite,postgresql]
                                    [--pg-url postgresql://postgres@127.0.0.1:55432/postgres]
                                    [--work /work/bench-scale]

One resident is ~2.9 records (history rows + household rows), so N records = N/2.9 residents
of `kikan sample` (the generator is vectorised: ~25 s per 1M records). Extracts are cached in
WORK by size. Each (size, database) pair is one `kikan rehearse` into a fresh store; its
summary.json gives the timings and each process's own peak RSS (VmHWM: the rehearsal and its
bulk-load child, on both databases). Memory must be flat in the input size: the largest size's
peak RSS (the larger of the two processes) within 1.2x of the smallest's. Results are printed and written to WORK/scale.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RECORDS_PER_RESIDENT = 2.9


def sample(work: Path, records: int) -> Path:
    residents = int(records / RECORDS_PER_RESIDENT)
    out = work / f"extract_{residents}"
    if not (out / "manifest.yaml").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "sample", "--residents", str(residents),
                        "--out", str(out), "--seed", "1"], check=True, cwd=PROJECT)
        print(f"generated {residents:,} residents in {time.perf_counter() - t0:.0f} s", flush=True)
    return out / "manifest.yaml"


def fresh_store(db: str, work: Path, tag: str, pg_admin: str) -> str:
    if db == "sqlite":
        path = work / f"store_{tag}.db"
        for p in work.glob(f"store_{tag}.db*"):
            p.unlink()
        return f"sqlite:///{path}"
    import sqlalchemy as sa

    name = f"kikan_scale_{tag}_{uuid.uuid4().hex[:6]}"
    eng = sa.create_engine(pg_admin.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return pg_admin.rsplit("/", 1)[0] + "/" + name


def rehearse(manifest: Path, store: str, run_dir: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "rehearse", str(manifest), "--store", store,
                           "--run-dir", str(run_dir), "--quiet"], cwd=PROJECT, capture_output=True, text=True,
                          env={**os.environ, "KIKAN_FAULT_AT": ""})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rehearse failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    s = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    mem = s.get("memory", {})
    return {"records": s["records_read"], "loaded": s["records_loaded"], "quarantined": s["records_quarantined"],
            "wall_s": round(wall, 1), "records_per_s": round(s["records_read"] / wall),
            "timings": {k: round(v, 1) for k, v in s["timings"].items()},
            "peak_rss_mib": mem.get("rehearsal_peak_rss_mib"), "load_child_peak_rss_mib": mem.get("load_peak_rss_mib")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", default="1000000,10000000")
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=os.environ.get("KIKAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:55432/postgres"))
    ap.add_argument("--work", type=Path, default=PROJECT / "var" / "bench-scale")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [int(float(x)) for x in args.records.split(",")]
    out_path = args.work / "scale.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for records in sizes:
        manifest = sample(args.work, records)
        for db in args.dbs.split(","):
            tag = f"{db}_{records}"
            store = fresh_store(db, args.work, tag, args.pg_url)
            r = rehearse(manifest, store, args.work / f"run_{tag}")
            results[tag] = r
            out_path.write_text(json.dumps(results, indent=2))
            print(f"{db:10s} {r['records']:>11,} records  {r['wall_s']:>7.1f} s  {r['records_per_s']:>8,} rec/s  "
                  f"peak RSS {r['peak_rss_mib']} MiB (load child {r['load_child_peak_rss_mib']})  {r['timings']}",
                  flush=True)
    for db in args.dbs.split(","):
        runs = sorted((v for k, v in results.items() if k.startswith(db + "_")), key=lambda v: v["records"])
        if len(runs) >= 2:
            small, big = runs[0], runs[-1]
            peak = lambda v: max(x or 0 for x in (v["peak_rss_mib"], v["load_child_peak_rss_mib"]))  # noqa: E731
            ratio = peak(big) / peak(small)
            print(f"{db}: peak RSS {peak(small)} MiB at {small['records']:,} → {peak(big)} MiB at "
                  f"{big['records']:,} records: {ratio:.2f}x ({'flat' if ratio <= 1.2 else 'NOT flat'}, bar 1.2x)")


if __name__ == "__main__":
    main()
