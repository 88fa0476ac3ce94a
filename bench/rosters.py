"""Rosters at scale: every roster (選挙人名簿, 学齢簿, 敬老寿賀, 成人の祝賀式; 避難行動要支援者, 国保・後期・介護 資格)
over N residents — time and peak RSS,
against a bare ``SELECT count(*) FROM juki_jumin`` in the same process as the baseline.

    .venv/bin/python bench/rosters.py [--residents 100000] [--as-of 2024-09-01] [--work var/bench-rosters]
                                      [--store URL [--fill]]   (default: a SQLite store filled here, cached per N;
                                                                --fill fills an empty --store, e.g. PostgreSQL)

The store is filled synthetically and fast (numpy → Arrow → Parquet → store.loader.load_run): each resident
has a 記載 row (転入 with a 届出日, or 改製), 15% a 転居, 6% a 消除 (転出/死亡); births spread over 0–105
years, 2% 外国人住民, 0.5% 不詳 births. The other 業務' tables (``fill_gyomu``): 国保 資格 for 25% of the
under-75s, 後期 for the 75+, 介護 第1号 for the 65+ (each 10% with a 喪失日), 要介護認定 for 15% of the 65+,
手帳 for 4% of everyone. Each roster runs in a fresh child process (its own peak RSS):
compute (the query + the rules) and, separately, writing the listed persons to CSV with 閲覧 masking.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
ROSTERS = ("senkyo", "gakureibo", "keiro", "seijin", "hinan", "kokuho", "kouki", "kaigo")


def _digits(values: np.ndarray, width: int) -> pa.Array:
    return pa.array(np.char.zfill(values.astype(str), width).astype(object), pa.string())


def _days(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def fill(url: str, n: int, work: Path) -> None:
    from kikan_hub.handover.spec import arrow_schema, file_columns
    from kikan_hub.layouts.isl import get_table
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.loader import StagedRun, load_run
    from kikan_hub.store.migrate import upgrade

    engine = open_engine(url)
    upgrade(engine)
    schema = arrow_schema(file_columns(get_table("juki_jumin")))
    rng = np.random.default_rng(14)
    path = work / "juki_jumin.parquet"
    names = pa.array(["架空　太郎", "見本　花子", "髙橋　一郎", "𠮷田　次郎"])
    with pq.ParquetWriter(path, schema) as w:
        for lo in range(0, n, 200_000):
            k = min(200_000, n - lo)
            no = np.arange(lo + 1, lo + k + 1, dtype=np.int64)
            birth = rng.integers(_days("1919-01-01"), _days("2024-08-31"), k)
            start = np.maximum(birth, rng.integers(_days("2000-01-04"), _days("2024-08-31"), k))
            kaisei = rng.random(k) < 0.5
            start = np.where(kaisei, _days("2000-01-04"), start)
            unknown = rng.random(k) < 0.005
            foreign = rng.random(k) < 0.02
            moved = rng.random(k) < 0.15
            gone = rng.random(k) < 0.06
            n_rows = 1 + moved + gone
            person = np.repeat(np.arange(k), n_rows)
            rireki = np.arange(len(person)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows) + 1
            is_gone = (rireki == n_rows[person]) & (rireki > 1) & gone[person]
            later = start[person] + rng.integers(1, 3000, len(person))
            idou_day = np.where(rireki == 1, start[person], np.minimum(later, _days("2024-12-31")))
            jiyu = np.where(rireki == 1, np.where(kaisei[person], "17", "11"), np.where(is_gone, np.where(
                rng.random(len(person)) < 0.5, "21", "23"), "41"))
            m = len(person)
            cols = {c: pa.nulls(m, schema.field(c).type) for c in schema.names}
            bd = pa.array(np.where(unknown[person], 0, birth[person]).astype("int32"), pa.date32(),
                          mask=unknown[person])
            cols.update({
                "atena_no": _digits(no[person], 10), "rireki_no": pa.array(rireki.astype(np.int64)),
                "setai_no": _digits(no[person] // 2 + 1, 10),
                "jumin_shubetsu": pa.array(np.where(foreign[person], "2", "1").astype(object)),
                "jumin_jotai": pa.array(np.where(is_gone, np.where(jiyu == "23", "3", "2"), "1").astype(object)),
                "shimei": names.take(pa.array(rng.integers(0, 4, m))), "birth_date": bd,
                "birth_date_literal": pa.array(np.where(unknown[person], "昭和１０年頃", "").astype(object)),
                "birth_date_unknown": pa.array(unknown[person]),
                "seibetsu": pa.array(rng.choice(["1", "2"], m).astype(object)), "zokugara": pa.array(["01"] * m),
                "jusho": pa.array(["霞野市本町一丁目1番1号"] * m),
                "jusho_code": _digits(rng.integers(101, 121, m) * 10000 + 100, 9),
                "idou_jiyu": pa.array(jiyu.astype(object)),
                "idou_date": pa.array(idou_day.astype("int32"), pa.date32()),
                "todokede_date": pa.array((idou_day + rng.integers(0, 14, m)).astype("int32"), pa.date32()),
                "jumin_date": pa.array(start[person].astype("int32"), pa.date32()),
                "shori_date": pa.array(idou_day.astype("int32"), pa.date32()),
                "shojo_jiyu": pa.array(np.where(is_gone, jiyu, None).astype(object), pa.string()),
                "shojo_date": pa.array(idou_day.astype("int32"), pa.date32(), mask=~is_gone),
                "_run_id": pa.array(["RBENCHROSTER000"] * m), "_source_file": pa.array(["bench"] * m),
                "_record_no": pa.array(np.arange(m, dtype=np.int64)),
            })
            w.write_table(pa.table(cols, schema=schema))
    ledger = {"run_id": "RBENCHROSTER000", "source_system": "bench", "status": "loaded", "records_read": n,
              "records_loaded": n, "records_quarantined": 0}
    load_run(engine, StagedRun("RBENCHROSTER000", ["bench"], {"juki_jumin": path}, target_tables=["juki_jumin"]),
             ledger, {})
    path.unlink()
    fill_gyomu(engine, n, work)


def fill_gyomu(engine, n: int, work: Path) -> None:
    """国保・後期・介護 資格, 要介護認定 and 手帳 rows for the residents 1..n. Ages are drawn independently of
    the 住民 rows: a load test of the queries and joins, not a consistent city (the sample is that)."""
    from kikan_hub.handover.spec import arrow_schema, file_columns
    from kikan_hub.layouts.isl import get_table
    from kikan_hub.store.loader import StagedRun, load_run

    rng = np.random.default_rng(1413)
    no = np.arange(1, n + 1, dtype=np.int64)
    age = rng.integers(0, 106, n)
    atena = _digits(no, 10)
    on = _days("2024-09-01")

    def qual(mask: np.ndarray) -> dict:
        k = int(mask.sum())
        start = rng.integers(_days("2000-04-01"), on + 60, k)
        lost = rng.random(k) < 0.10
        end = start + rng.integers(1, 4000, k)
        return {"atena_no": atena.filter(pa.array(mask)), "shikaku_rireki_no": pa.array(np.ones(k, np.int64)),
                "shutoku_date": pa.array(start.astype("int32"), pa.date32()), "shutoku_jiyu": pa.array(["01"] * k),
                "soshitsu_date": pa.array(end.astype("int32"), pa.date32(), mask=~lost),
                "soshitsu_jiyu": pa.array(np.where(lost, "03", None).astype(object), pa.string()),
                "shori_date": pa.array(start.astype("int32"), pa.date32())}

    tables = {"kokuho_hihokensha": qual((age < 75) & (rng.random(n) < 0.25)), "koki_hihokensha": qual(age >= 75),
              "kaigo_hihokensha": {**qual(age >= 65), "hihokensha_kubun": None}}
    tables["kaigo_hihokensha"]["hihokensha_kubun"] = pa.array(["1"] * len(tables["kaigo_hihokensha"]["atena_no"]))
    nin = (age >= 65) & (rng.random(n) < 0.15)
    k = int(nin.sum())
    start = on - rng.integers(0, 700, k)
    tables["kaigo_nintei"] = {
        "atena_no": atena.filter(pa.array(nin)), "nintei_rireki_no": pa.array(np.ones(k, np.int64)),
        "shinsei_kubun": pa.array(["1"] * k), "nintei_kekka": pa.array(["1"] * k),
        "yokaigo_jotai_kubun": pa.array(rng.choice(["12", "13", "21", "22", "23", "24", "25"], k).astype(object)),
        "shinsei_date": pa.array(start.astype("int32"), pa.date32()),
        "yuko_kaishi_date": pa.array(start.astype("int32"), pa.date32()),
        "yuko_shuryo_date": pa.array((start + 729).astype("int32"), pa.date32()),
        "shori_date": pa.array(start.astype("int32"), pa.date32())}
    te = rng.random(n) < 0.04
    k = int(te.sum())
    shurui = rng.choice(["1", "2", "3"], k)
    day = rng.integers(_days("2000-04-01"), on, k)
    tables["shogai_techo_techo"] = {
        "atena_no": atena.filter(pa.array(te)), "techo_shurui": pa.array(shurui.astype(object)),
        "rireki_no": pa.array(np.ones(k, np.int64)), "techo_bango": _digits(np.arange(k), 12),
        "ido_jiyu": pa.array(["01"] * k), "kofu_date": pa.array(day.astype("int32"), pa.date32()),
        "shintai_tokyu": pa.array(np.where(shurui == "1", rng.choice(list("123456"), k), None).astype(object), pa.string()),
        "ryoiku_hantei": pa.array(np.where(shurui == "2", rng.choice(["A1", "A2", "B1", "B2"], k), None).astype(object),
                                  pa.string()),
        "seishin_tokyu": pa.array(np.where(shurui == "3", rng.choice(list("123"), k), None).astype(object), pa.string()),
        "shori_date": pa.array(day.astype("int32"), pa.date32())}
    paths = {}
    for table_id, cols in tables.items():
        schema = arrow_schema(file_columns(get_table(table_id)))
        m = len(cols["atena_no"])
        full = {c: cols[c] if c in cols else pa.nulls(m, schema.field(c).type) for c in schema.names}
        full.update({"_run_id": pa.array(["RBENCHROSTER001"] * m), "_source_file": pa.array(["bench"] * m),
                     "_record_no": pa.array(np.arange(m, dtype=np.int64))})
        paths[table_id] = work / f"{table_id}.parquet"
        pq.write_table(pa.table({c: full[c].cast(schema.field(c).type) for c in schema.names}, schema=schema),
                       paths[table_id])
    ledger = {"run_id": "RBENCHROSTER001", "source_system": "bench", "status": "loaded", "records_read": n,
              "records_loaded": n, "records_quarantined": 0}
    load_run(engine, StagedRun("RBENCHROSTER001", ["bench"], paths, target_tables=list(paths)), ledger, {})
    for p in paths.values():
        p.unlink()


def child(args) -> None:
    """One roster (or the baseline) in this process: seconds and this process's peak RSS."""
    from sqlalchemy import text

    from kikan_hub.modules.rosters import compute
    from kikan_hub.modules.rosters.engine import iter_judged
    from kikan_hub.modules.rosters.output import write
    from kikan_hub.store.engine import open_engine
    engine = open_engine(args.store)
    # imports done (they are the same ~300 MiB in every child, the baseline's peak RSS shows them)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if args.child == "all":            # one query, the rosters judged one after the other (kikan roster-report)
        judged = listed = 0
        for r in iter_judged(engine, list(ROSTERS), args.as_of):
            judged, listed = judged + r.table.num_rows, listed + r.listed().num_rows
        out = {"candidates": judged, "listed": listed, "compute_s": time.perf_counter() - t0, "write_s": 0.0}
    elif args.child == "count":
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM juki_jumin")).scalar_one()
        out = {"rows": rows, "compute_s": time.perf_counter() - t0}
    else:
        res = compute(engine, args.child, args.as_of)
        t1 = time.perf_counter()
        summary = write(engine, res, Path(args.out), who="bench", role="閲覧")
        out = {"candidates": res.table.num_rows, "listed": summary["rows"], "compute_s": t1 - t0,
               "write_s": time.perf_counter() - t1}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_mib"] = ru.ru_maxrss / 1024
    out["cpu_s"] = (ru.ru_utime + ru.ru_stime) - (ru0.ru_utime + ru0.ru_stime)   # on a shared machine, wall time alone says little
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--as-of", default="2024-09-01")
    ap.add_argument("--work", type=Path, default=PROJECT / "var" / "bench-rosters")
    ap.add_argument("--store", help="an existing store instead of the synthetic SQLite one")
    ap.add_argument("--fill", action="store_true", help="fill --store (an empty database, e.g. PostgreSQL) first")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    work = args.work / f"n{args.residents}"
    work.mkdir(parents=True, exist_ok=True)
    url = args.store
    if url is not None and args.fill:
        t0 = time.perf_counter()
        fill(url, args.residents, work)
        print(f"store filled with {args.residents:,} residents in {time.perf_counter() - t0:.1f}s ({url})")
    if url is None:
        url = f"sqlite:///{work / 'kikan.db'}"
        if not (work / "filled-gyomu").exists():          # stores filled before the 業務 tables are refilled
            (work / "kikan.db").unlink(missing_ok=True)
            t0 = time.perf_counter()
            fill(url, args.residents, work)
            (work / "filled-gyomu").write_text("ok")
            print(f"store filled with {args.residents:,} residents in {time.perf_counter() - t0:.1f}s ({url})")
    print(f"command: {' '.join([Path(sys.executable).name, 'bench/rosters.py'] + sys.argv[1:])}")

    def run(what: str) -> dict:
        cmd = [sys.executable, __file__, "--child", what, "--store", url, "--as-of", args.as_of,
               "--out", str(work / f"{what}.csv")]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])

    base = run("count")
    print(f"baseline SELECT count(*) FROM juki_jumin: {base['rows']:,} rows in {base['compute_s']:.2f}s, "
          f"peak RSS {base['peak_rss_mib']:,.0f} MiB")
    results = {"baseline": base}
    for name in ROSTERS + ("all",):
        r = run(name)
        results[name] = r
        label = f"all {len(ROSTERS)} (one query, iter_judged)" if name == "all" else f"kikan roster {name}"
        print(f"{label} --as-of {args.as_of}: {r['candidates']:,} persons judged, {r['listed']:,} listed; "
              f"compute {r['compute_s']:.1f}s ({r['compute_s'] / max(base['compute_s'], 1e-3):,.0f}× the count scan), "
              f"write CSV {r['write_s']:.1f}s; CPU {r['cpu_s']:.1f}s; peak RSS {r['peak_rss_mib']:,.0f} MiB")
    (work / "rosters.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
