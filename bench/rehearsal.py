"""Rehearsal throughput against a raw Arrow CSV read of the same records, in one run.

    .venv/bin/python bench/rehearsal.py [--residents 1000000] [--work var/bench]
    .venv/bin/python bench/rehearsal.py --city [--residents 10000]     # the whole city, every 業務

Generates the sample extract once (cached by size and seed), writes the same records as
UTF-8 CSV (the baseline's input, not timed), then measures:
(peak RSS is each process's own VmHWM, reported in summary.json: the rehearsal and its
bulk-load child; a parent's rusage would count pages a fork shares with this script)
  baseline  pyarrow.csv.read_csv of the UTF-8 CSV (best of 3)
  hub       `kikan rehearse` end to end (read → map → resolve → check → load into SQLite)
and prints records/s, peak RSS of the rehearsal, and the ratio hub / baseline.
Bar (issue 2): ratio ≤ 20, peak RSS < 1 GiB.

--city (issue 13): the whole-city sample (kikan_hub.sample.city: 住民記録, 税 and every other 業務
as several vendors' files, one manifest) is rehearsed in one run, and in the same run the city's
住民記録 alone (its manifest_juki.yaml), each against a bare read of its own records, so the note can
say whether the city is "no worse than 住民記録 alone". Bar: city ratio ≤ 住民記録 ratio, RSS < 1 GiB.
The default size is modest (10,000 residents); the issue's figure is `--city --residents 100000`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

PROJECT = Path(__file__).resolve().parents[1]
BASELINE_REPEATS = 3


def kikan(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], check=True, cwd=PROJECT)
    return time.perf_counter() - t0


def write_baseline_csv(manifest: Path, out: Path) -> tuple[int, int]:
    """The same records as UTF-8 CSV: decoded by the hub's reader once, untimed."""
    from kikan_hub.adapters.reader import read_file
    from kikan_hub.pipeline.manifest import load_manifest

    m = load_manifest(manifest, check_encoding=False)
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


@dataclass
class Measured:
    label: str
    records: int
    baseline_s: float
    hub_s: float
    summary: dict

    @property
    def ratio(self) -> float:
        return self.hub_s / self.baseline_s

    @property
    def peak_mib(self) -> float:
        return max(v for v in self.summary["memory"].values() if isinstance(v, (int, float)))


def measure(manifest: Path, work: Path, label: str) -> Measured:
    """Bare pyarrow read of the manifest's records (as UTF-8 CSV) and `kikan rehearse` of the manifest."""
    csv_dir = work / f"csv-{label}"
    if csv_dir.exists():
        shutil.rmtree(csv_dir)
    csv_dir.mkdir(parents=True)
    records, header_lines = write_baseline_csv(manifest, csv_dir)

    # Best of three: one read of ~2 s moves by 10–15 % with the page cache and the thread pool,
    # and the ratio of two ratios would carry that noise.
    times = []
    for _ in range(BASELINE_REPEATS):
        t0 = time.perf_counter()
        rows = sum(pacsv.read_csv(p).num_rows for p in sorted(csv_dir.glob("*.csv")))
        times.append(time.perf_counter() - t0)
    baseline = min(times)
    assert rows + header_lines == records, (rows, header_lines, records)

    db = work / f"bench-{label}.db"
    for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        p.unlink(missing_ok=True)
    run_dir = work / f"run-{label}"
    shutil.rmtree(run_dir, ignore_errors=True)
    hub = kikan("rehearse", str(manifest), "--store", f"sqlite:///{db}", "--run-dir", str(run_dir), "--quiet")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["records_read"] == records, (summary["records_read"], records)
    return Measured(label, records, baseline, hub, summary)


def report(m: Measured, what: str) -> None:
    print(f"[{what}]")
    print(f"records                  {m.records:,}")
    print(f"baseline read_csv (best of {BASELINE_REPEATS}) {m.baseline_s:6.2f} s  {m.records / m.baseline_s:12,.0f} rec/s")
    print(f"kikan rehearse (SQLite)  {m.hub_s:8.2f} s  {m.records / m.hub_s:12,.0f} rec/s")
    print(f"ratio hub / baseline     {m.ratio:8.1f} ×")
    print(f"peak RSS                 {m.peak_mib:8.0f} MiB (bar < 1024)  {json.dumps(m.summary['memory'])}")
    print(f"stage timings            {json.dumps({k: round(v, 2) for k, v in m.summary['timings'].items()})}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=None, help="default 1,000,000 (住民記録); 10,000 with --city")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--city", action="store_true", help="the whole city (every 業務) and its 住民記録 alone, one run")
    ap.add_argument("--work", type=Path, default=PROJECT / "var" / "bench")
    a = ap.parse_args()
    residents = a.residents or (10_000 if a.city else 1_000_000)
    print(f"command: {' '.join([Path(sys.executable).name, 'bench/rehearsal.py', *sys.argv[1:]])}")
    if not a.city:
        sample = a.work / f"sample-{residents}-{a.seed}"
        if not (sample / "manifest.yaml").exists():
            print(f"generating {residents:,} residents …", flush=True)
            gen = kikan("sample", "--residents", str(residents), "--out", str(sample), "--seed", str(a.seed))
            print(f"  generated in {gen:.1f} s")
        m = measure(sample / "manifest.yaml", a.work, "juki")
        print()
        report(m, f"住民記録 ({residents:,} residents)")
        print("bar (issue 2): ratio ≤ 20, peak RSS < 1 GiB")
        return

    city = a.work / f"city-{residents}-{a.seed}"
    if not (city / "truth" / "summary.json").exists():
        shutil.rmtree(city, ignore_errors=True)
        print(f"generating the city of {residents:,} residents …", flush=True)
        gen = kikan("sample", "--city", "--residents", str(residents), "--out", str(city), "--seed", str(a.seed), "--quiet")
        print(f"  generated in {gen:.1f} s")
    whole = measure(city / "manifest.yaml", a.work, "city")
    juki = measure(city / "manifest_juki.yaml", a.work, "city-juki")
    print()
    report(whole, f"全業務 ({residents:,} residents, {len(whole.summary['by_gyomu'])} 業務, "
                  f"{len(whole.summary['inputs'])} files)")
    print()
    report(juki, "住民記録 alone (the same city's 住民記録 files)")
    print()
    worse = whole.ratio / juki.ratio
    print(f"city ratio / 住民記録 ratio  {worse:6.2f}   ({'no worse than' if worse <= 1.0 else 'WORSE than'} 住民記録 alone)")
    print(f"bar (issue 13): city ratio ≤ 住民記録 ratio, peak RSS {whole.peak_mib:.0f} MiB < 1024")


if __name__ == "__main__":
    main()
