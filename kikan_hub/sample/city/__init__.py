"""The whole-city sample (issue 13, point 3): the 住民記録 + 税 sample of N residents, and from its
people every other 業務 that has an ISL definition, written as the extracts of the vendors of 表1.

    summary = generate_city(CityOptions(residents=N, out=DIR, seed=S, defect_rate=0.01))

What each 業務 holds is data: its ISL definition (layouts/intermediate_standard/) and its profile
(sample/profiles/city/<gyomu_id>.yaml: subjects, rows, derived values, vendor, defects); how each vendor
writes is data too (profiles/city/vendors.yaml). See kikan_hub/sample/README.md "Whole-city sample"."""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from kikan_hub.layouts.isl import get_table, load_definitions
from kikan_hub.sample.city.assemble import dump_yaml, vendor_to_pua, write_city_manifest
from kikan_hub.sample.city.defects import plant
from kikan_hub.sample.city.engine import TableRows, build_table
from kikan_hub.sample.city.population import add_jutogai, load_population, zei_jutogai_atena
from kikan_hub.sample.city.profile import CITY_PROFILES, load_gyomu_profiles, load_vendors
from kikan_hub.sample.city.truth import RECORDS_SCHEMA, clean_table, record_rows
from kikan_hub.sample.city.vendor_files import Gaiji, write_file
from kikan_hub.sample.context import SampleOptions
from kikan_hub.sample.profile import load_profile

GENERATOR = "kikan-sample-city/1"
CONTROL_TYPES = ("header", "trailer", "_header_line")
FORCE_ONE_FROM = 2_000
SAMPLED_ELSEWHERE = ("juki", "zei_kojin", "zei_kotei", "zei_kei")   # today's 住民記録・税 sample (sample/generator.py)          # at least one planted defect per 業務 from this many residents


@dataclass(frozen=True)
class CityOptions:
    residents: int
    out: Path
    seed: int = 0
    defect_rate: float | None = None          # None: each 業務 profile's default_rate
    profiles_dir: Path = CITY_PROFILES
    juki_profiles: tuple[Path, ...] = ()      # profile files replacing the shipped 住民記録/税 ones (kikan sample --profile)
    require_all: bool = True                  # every 業務 with a definition must have a profile


def _rnd(seed: int, *parts: str) -> random.Random:
    # str seeds are hashed with SHA-512 by random.seed (version 2): stable across runs and platforms
    return random.Random(":".join([str(seed), *parts]))


def _juki_files(out: Path, juki: dict) -> dict[str, dict]:
    files = {}
    juki_vendor = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))["source_system"]
    for fid, f in juki["files"].items():
        rt = f["record_types"]
        data = {k: v for k, v in rt.items() if k not in CONTROL_TYPES}
        files[fid] = {"gyomu_id": "juki", "vendor": juki_vendor, "path": f["path"], "records": f["read"],
                      "data_records": sum(v["read"] for v in data.values()),
                      "expected_loaded": sum(v["loaded"] for v in data.values()),
                      "expected_quarantined": sum(v["quarantined"] for v in data.values()),
                      "defects": dict(f.get("expected_rules", {}))}
    return files


def _zei_files(out: Path) -> dict[str, dict]:
    files = {}
    planted: dict[str, dict[str, int]] = {}         # the 税 sample's rule defects (truth/zei/defects.json): they load
    for d in json.loads((out / "truth" / "zei" / "defects.json").read_text(encoding="utf-8")):
        per = planted.setdefault(d["table"].upper(), {})
        per[d["rule"]] = per.get(d["rule"], 0) + 1
    zm = yaml.safe_load((out / "zei" / "manifest.yaml").read_text(encoding="utf-8"))
    for f in zm["files"]:
        table = f["id"].lower()
        n = pq.read_metadata(out / "truth" / "zei" / f"{table}.parquet").num_rows
        lines = (out / "zei" / f["path"]).read_bytes().count(b"\r\n")
        # planted 税 defects break gate rules (truth/zei/defects.json) and load: every data line loads
        files[f["id"]] = {"gyomu_id": get_table(table).gyomu_id, "vendor": zm["source_system"],
                          "path": f"zei/{f['path']}", "records": lines,
                          "data_records": lines - 1, "expected_loaded": lines - 1, "expected_quarantined": 0,
                          "truth_rows": n, "defects": planted.get(f["id"], {})}
    return files


def generate_city(opts: CityOptions) -> dict:
    from kikan_hub.sample.generator import generate

    t0 = time.perf_counter()
    out = Path(opts.out)
    vendors = load_vendors(opts.profiles_dir).vendors
    profiles = load_gyomu_profiles(opts.profiles_dir)
    missing = sorted({d.gyomu_id for d in load_definitions().values()} - set(profiles) - set(SAMPLED_ELSEWHERE))
    if missing and opts.require_all:
        raise ValueError(f"定義のある業務に市のサンプルのプロファイルがありません (業務 without a city profile): "
                         f"{', '.join(missing)} — {opts.profiles_dir}/<gyomu_id>.yaml")
    juki_summary = generate(SampleOptions(residents=opts.residents, out=out, seed=opts.seed,
                                          defect_rate=opts.defect_rate, profiles=opts.juki_profiles))
    as_of = load_profile("juki").calendar.end
    truth = out / "truth"
    pop = load_population(truth)
    add_jutogai(pop, zei_jutogai_atena(truth, pop.by_atena))

    base_files = {**_juki_files(out, juki_summary), **_zei_files(out)}     # today's 住民記録・税 sample
    files: dict[str, dict] = dict(base_files)
    by_gyomu: dict[str, dict] = {}
    manifest_files, targets, code_maps = [], [], {}
    gdir = truth / "gyomu"
    if gdir.exists():
        shutil.rmtree(gdir)
    gdir.mkdir(parents=True)
    records_writer = pq.ParquetWriter(truth / "records_city.parquet", RECORDS_SCHEMA)
    ghost = [0]
    used_vendors = []
    for gid, prof in profiles.items():
        vendor = vendors[prof.vendor]
        if vendor not in used_vendors:
            used_vendors.append(vendor)
        gaiji = Gaiji(vendor_to_pua(vendor))
        vdir = out / "vendors" / vendor.dir
        vdir.mkdir(parents=True, exist_ok=True)
        rate = prof.default_rate if opts.defect_rate is None else opts.defect_rate
        done: dict[str, TableRows] = {}
        parents = {p.subjects.of for p in prof.tables.values() if p.subjects.of}
        g = by_gyomu.setdefault(gid, {"records": 0, "expected_loaded": 0, "expected_quarantined": 0, "defects": {},
                                      "tables": {}})
        for tid, tp in prof.tables.items():
            table = get_table(tid)
            if table.gyomu_id != gid:
                raise ValueError(f"profiles/city/{gid}.yaml: table {tid} belongs to 業務 {table.gyomu_id}")
            tr = build_table(table, tp, pop, done, as_of, _rnd(opts.seed, tid),
                             fill_decimals=vendor.decimal == "packed")
            counts = plant(tr, tp, vendor, pop, as_of, rate, _rnd(opts.seed, tid, "defects"), ghost,
                           force_one=opts.residents >= FORCE_ONE_FROM and not g["defects"])
            done[tid] = tr
            fid = f"{(prof.file_prefix or '')}{tid.upper()}"
            ext = "DAT" if vendor.format == "fixed" else "CSV"
            wf = write_file(tr, vendor, fid, gaiji, as_of + dt.timedelta(days=1))
            rel = f"vendors/{vendor.dir}/{fid}.{ext}"
            (out / rel).write_bytes(wf.data)
            (vdir / f"layout_{tid}.yaml").write_text(dump_yaml(wf.layout), encoding="utf-8")
            manifest_files.append({"id": fid, "path": rel, "layout": f"vendors/{vendor.dir}/layout_{tid}.yaml",
                                   "encoding": vendor.encoding})
            targets.append(wf.target)
            for fs_code, vmap in vendor.code_maps.items():
                code_maps[f"{vendor.dir}.{fs_code}"] = dict(vmap)
            rec = record_rows(fid, gid, table, wf.records, tr.rows)
            records_writer.write_table(pa.table(rec, schema=RECORDS_SCHEMA))
            data = [i for i, t in enumerate(rec["record_type"]) if t == "data"]
            quarantined = sum(1 for i in data if rec["expected"][i] == "quarantined")
            files[fid] = {"gyomu_id": gid, "table_id": tid, "vendor": vendor.name, "path": rel,
                          "records": len(wf.records), "data_records": len(data),
                          "expected_loaded": len(data) - quarantined, "expected_quarantined": quarantined,
                          "defects": counts, "bytes": len(wf.data), "sha256": hashlib.sha256(wf.data).hexdigest(),
                          "dropped_duplicates": tr.dropped_duplicates, "dropped_incomplete": tr.dropped_incomplete}
            g["records"] += len(wf.records)
            g["expected_loaded"] += len(data) - quarantined
            g["expected_quarantined"] += quarantined
            g["tables"][tid] = len(data)
            for r, n in counts.items():
                g["defects"][r] = g["defects"].get(r, 0) + n
            pq.write_table(clean_table(table, tr.rows), gdir / f"{tid}.parquet")
            if tid not in parents:
                tr.rows.clear()                 # bounded memory: only tables later ones derive from stay
        done.clear()
        gc.collect()
    records_writer.close()
    for f in base_files.values():
        g = by_gyomu.setdefault(f["gyomu_id"], {"records": 0, "expected_loaded": 0, "expected_quarantined": 0,
                                                "defects": {}, "tables": {}})
        g["records"] += f["records"]
        g["expected_loaded"] += f["expected_loaded"]
        g["expected_quarantined"] += f["expected_quarantined"]
        for r, n in f.get("defects", {}).items():
            g["defects"][r] = g["defects"].get(r, 0) + n
    write_city_manifest(out, manifest_files, targets, code_maps, used_vendors)
    summary = {"generator": GENERATOR, "residents": opts.residents, "seed": opts.seed,
               "defect_rate": opts.defect_rate, "as_of_dates": [as_of.isoformat()],
               "people": len(pop.people), "current_residents": sum(1 for p in pop.people if p.resident),
               "households": len(pop.households),
               "files": dict(sorted(files.items())), "by_gyomu": dict(sorted(by_gyomu.items())),
               "juki": juki_summary}
    (truth / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    summary["seconds"] = round(time.perf_counter() - t0, 1)      # not in the file: the file holds no timings
    return summary
