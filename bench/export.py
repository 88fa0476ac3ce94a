"""Handover export throughput and memory: `kikan export isl` over N residents, streaming.

    .venv/bin/python bench/export.py [--residents 1000000] [--work var/bench-export]
                                     [--format csv|fixed] [--encoding utf-8|cp932] [--fold none|jisx0208|jisx0213]

Fills a SQLite store synthetically and fast (numpy → Arrow → Parquet → store.loader.load_run;
cached per N in the work directory), then runs the export in a fresh process — the same code
`kikan export isl --store URL --out DIR --gyomu juki …` runs — and prints rows/s and that
process's peak RSS (resource.getrusage). The rows hold gaiji (髙, 𠮷, IVS 葛󠄀) so the character
policy does real work.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

NAMES = ["髙橋　一郎", "𠮷田　花子", "渡邊　太郎", "\u845b\U000E0100城　次郎", "山田　太郎", "佐藤　花子", "鈴木　一",
         "田中　さくら", "伊藤　健", "斎藤　美咲", "髙木　茂", "中村　翔"]
KANA = ["タカハシ　イチロウ", "ヨシダ　ハナコ", "ワタナベ　タロウ", "カツラギ　ジロウ", "ヤマダ　タロウ", "サトウ　ハナコ"]
ADDR = ["架空市松町一丁目1番地", "架空市竹町二丁目2番地", "架空市梅町三丁目3番地の4", "架空市髙島町四丁目5番地"]


def m11(body: np.ndarray, digits: int) -> np.ndarray:
    s = np.zeros_like(body)
    x = body.copy()
    for i in range(digits):
        s += (x % 10) * (2 + i % 6)
        x //= 10
    r = s % 11
    return body * 10 + np.where(r <= 1, 0, 11 - r)


def strings(pool: list[str], idx: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(pool)).cast(pa.string())


def digits(values: np.ndarray, width: int) -> pa.Array:
    return pa.array(np.char.zfill(values.astype(str), width).astype(object), pa.string())


def fill(url: str, n: int, work: Path) -> None:
    from kikan_hub.handover.spec import arrow_schema, file_columns
    from kikan_hub.layouts.isl import get_table
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.loader import StagedRun, load_run
    from kikan_hub.store.migrate import upgrade

    engine = open_engine(url)
    upgrade(engine)
    table = get_table("juki_jumin")
    schema = arrow_schema(file_columns(table))
    rng = np.random.default_rng(1)
    path = work / "juki_jumin.parquet"
    step = 200_000
    with pq.ParquetWriter(path, schema) as w:
        for lo in range(0, n, step):
            k = min(step, n - lo)
            no = np.arange(lo + 1, lo + k + 1, dtype=np.int64)
            birth = rng.integers(-20000, 19000, k).astype("int32")
            cols = {c: pa.nulls(k, schema.field(c).type) for c in schema.names}
            cols.update({
                "atena_no": digits(m11(no, 9), 10), "rireki_no": pa.array(np.ones(k, np.int64)),
                "setai_no": digits(m11(no // 2 + 1, 9), 10), "jumin_shubetsu": pa.array(["1"] * k),
                "jumin_jotai": pa.array(["1"] * k), "shimei": strings(NAMES, rng.integers(0, len(NAMES), k)),
                "shimei_kana": strings(KANA, rng.integers(0, len(KANA), k)),
                "birth_date": pa.array(birth, pa.date32()), "birth_date_literal": digits(rng.integers(3000101, 3641231, k), 7),
                "birth_date_unknown": pa.array(np.zeros(k, bool)), "seibetsu": strings(["1", "2"], rng.integers(0, 2, k)),
                "zokugara": pa.array(["01"] * k), "setainushi_shimei": strings(NAMES, rng.integers(0, len(NAMES), k)),
                "jusho": strings(ADDR, rng.integers(0, len(ADDR), k)), "yubin_no": pa.array(["1000001"] * k),
                "idou_jiyu": pa.array(["01"] * k), "idou_date": pa.array(np.full(k, 18000, "int32"), pa.date32()),
                "shori_date": pa.array(np.full(k, 19800, "int32"), pa.date32()),
                "_run_id": pa.array(["RBENCH000000000"] * k), "_source_file": pa.array(["旧住記/JUMIN"] * k),
                "_source_sha256": pa.array(["ab" * 32] * k), "_source_offset": pa.array((no - 1) * 512),
                "_record_no": pa.array(no),
            })
            w.write_table(pa.table(cols, schema=schema))
    ledger = {"run_id": "RBENCH000000000", "source_system": "bench", "status": "loaded", "records_read": n,
              "records_loaded": n, "records_quarantined": 0}
    load_run(engine, StagedRun("RBENCH000000000", ["旧住記/JUMIN"], {"juki_jumin": path}, target_tables=["juki_jumin"]),
             ledger, {})
    path.unlink()


def run_export(args) -> None:
    """Child: the export alone, so that its peak RSS is its own."""
    from kikan_hub.handover.export import ExportOptions, export_isl
    from kikan_hub.store.engine import open_engine

    t0 = time.perf_counter()
    m = export_isl(open_engine(args.store), Path(args.out),
                   ExportOptions(fmt=args.format, encoding=args.encoding, fold=args.fold, gyomu=("juki",)))
    secs = time.perf_counter() - t0
    print(json.dumps({"records": m["totals"]["records"], "seconds": secs,
                      "bytes": sum(f["bytes"] for f in m["files"]), "folds": m["folds"]["records"],
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=PROJECT / "var" / "bench-export")
    ap.add_argument("--format", default="csv")
    ap.add_argument("--encoding", default="utf-8")
    ap.add_argument("--fold", default="none")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_export(args)
        return
    work = args.work / f"n{args.residents}"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "kikan.db"
    url = f"sqlite:///{db}"
    if not (work / "filled").exists():
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        fill(url, args.residents, work)
        (work / "filled").write_text("ok")
        print(f"store filled with {args.residents:,} residents in {time.perf_counter() - t0:.1f}s ({url})")
    out = work / f"out-{args.format}-{args.encoding}-{args.fold}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--child", "--store", url, "--out", str(out), "--format", args.format,
           "--encoding", args.encoding, "--fold", args.fold]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"command: kikan export isl --store {url} --out {out} --gyomu juki --format {args.format} "
          f"--encoding {args.encoding} --fold {args.fold}")
    print(f"records {res['records']:,} in {res['seconds']:.1f}s = {res['records'] / res['seconds']:,.0f} rows/s; "
          f"{res['bytes'] / 1e6:,.0f} MB written; folds {res['folds']:,}; "
          f"peak RSS {res['peak_rss_kib'] / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
