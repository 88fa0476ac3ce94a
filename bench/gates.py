"""Bench: the 住民記録 gate set on ~1,000,000 rows — kikan-hub vs Great Expectations vs frictionless, one run.

    .venv/bin/python bench/gates.py [--rows 1000000] [--seed 1] [--skip-frictionless]

* kikan-hub: validate_tables() on polars — every 住民記録 rule (layout-derived and business,
  incl. 世帯主 per household over time), exact counts, every failing row kept.
* Great Expectations: the same checks as GE expectations (kikan_hub.validation.ge_export.expectation_specs;
  rules GE cannot express are left out, rules it expresses only partly are in as their partial form)
  on pandas, in an ephemeral context.
* frictionless: the same per-column checks as a Table Schema (required, pattern, maxLength, enum,
  minimum/maximum) over a CSV of the same rows.

Bar: kikan-hub ≥ 10× faster than Great Expectations (exit 1 otherwise). Needs
`pip install great_expectations frictionless` (not project dependencies).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from kikan_hub.validation.catalogue import gate_rules  # noqa: E402
from kikan_hub.validation.engine import validate_tables  # noqa: E402
from kikan_hub.validation.ge_export import expectation_specs  # noqa: E402
from kikan_hub.validation.synthetic import build  # noqa: E402

TABLES = ("juki_jumin", "juki_setai")


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def run_kikan(frames: dict) -> tuple[dict, float]:
    result, sec = timed(validate_tables, frames, "juki")
    return {r.id: r.failed for r in result.rules}, sec


def run_ge(frames: dict, specs: list[dict]) -> tuple[dict, float, float, int]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from kikan_hub.validation.ge_export import build_suites

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suites = build_suites(specs)
    t = time.perf_counter()
    pdfs = {k: frames[k].to_pandas() for k in suites}
    to_pandas = time.perf_counter() - t
    ds = context.data_sources.add_pandas("bench")
    unexpected: dict[str, int] = {}
    n_exp = 0
    t = time.perf_counter()
    for table_id, suite in suites.items():
        suite = context.suites.add(suite)
        n_exp += len(suite.expectations)
        asset = ds.add_dataframe_asset(name=table_id)
        bd = asset.add_batch_definition_whole_dataframe("all")
        vd = context.validation_definitions.add(gx.ValidationDefinition(name=f"v_{table_id}", data=bd, suite=suite))
        res = vd.run(batch_parameters={"dataframe": pdfs[table_id]}, result_format="SUMMARY")
        for r in res.results:
            rid = r.expectation_config.meta.get("rule_id")
            unexpected[rid] = unexpected.get(rid, 0) + int((r.result or {}).get("unexpected_count") or 0)
    return unexpected, time.perf_counter() - t, to_pandas, n_exp


def frictionless_schema(specs: list[dict], table_id: str, columns: list[str]) -> dict:
    fields: dict[str, dict] = {c: {"name": c, "type": "string", "constraints": {}} for c in columns}
    for spec in specs:
        if spec["table"] != table_id:
            continue
        for e in spec["expectations"]:
            k = e["kwargs"]
            c = fields.get(k.get("column", ""))
            if c is None:
                continue
            cons = c["constraints"]
            if e["type"] == "expect_column_values_to_not_be_null":
                cons["required"] = True
            elif e["type"] == "expect_column_values_to_match_regex":
                cons["pattern"] = k["regex"].lstrip("^").rstrip("$") if "pattern" not in cons else cons["pattern"]
            elif e["type"] == "expect_column_value_lengths_to_be_between":
                cons["maxLength"] = min(cons.get("maxLength", 10 ** 9), k["max_value"])
            elif e["type"] == "expect_column_values_to_be_in_set":
                cons["enum"] = k["value_set"]
            elif e["type"] == "expect_column_values_to_be_between" and isinstance(k.get("max_value"), int):
                c["type"] = "integer"
                cons["minimum"], cons["maximum"] = k["min_value"], k["max_value"]
    return {"fields": list(fields.values())}


def run_frictionless(frames: dict, specs: list[dict], workdir: Path) -> tuple[dict, float, float]:
    from frictionless import Resource, Schema

    errors: dict[str, int] = {}
    t_write = 0.0
    total = 0.0
    for table_id in TABLES:
        df = frames[table_id]
        cols = [c for c in df.columns]
        csv = workdir / f"{table_id}.csv"
        t = time.perf_counter()
        df.select([pl.col(c).cast(pl.Utf8) for c in cols]).write_csv(csv)
        t_write += time.perf_counter() - t
        schema = Schema.from_descriptor(frictionless_schema(specs, table_id, cols))
        t = time.perf_counter()
        report = Resource(path=csv.name, basepath=str(workdir), schema=schema).validate(limit_errors=10 ** 9)
        bad = [e for task in report.tasks for e in task.errors if e.type in ("resource-error", "scheme-error", "schema-error")]
        assert not bad, bad[:3]
        total += time.perf_counter() - t
        errors[table_id] = sum(len(task.errors) for task in report.tasks)
    return errors, total, t_write


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="about this many juki_jumin rows")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-frictionless", action="store_true")
    ap.add_argument("--bar", type=float, default=10.0)
    args = ap.parse_args()

    households = max(10, int(args.rows / 3.01))
    (tables, truth), t_build = timed(build, households, args.seed)
    frames = {k: tables[k] for k in TABLES}
    n = frames["juki_jumin"].height
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"data: juki_jumin {n:,} rows, juki_setai {frames['juki_setai'].height:,} rows (built in {t_build:.1f}s, "
          f"polars {pl.__version__}, {os.cpu_count()} CPUs)")
    rules = [r for r in gate_rules("juki") if r.table in TABLES]
    specs = expectation_specs(rules)
    eq = {s["rule_id"]: s["equivalence"] for s in specs}
    print(f"rules: {len(rules)} (GE exact {sum(v == 'exact' for v in eq.values())}, partial "
          f"{sum(v == 'partial' for v in eq.values())}, not expressible {sum(v == 'none' for v in eq.values())})")

    run_kikan({k: v.head(1000) for k, v in frames.items()})   # warm caches (code tables, layouts)
    kikan_counts, t_kikan = run_kikan(frames)
    print(f"kikan-hub validate_tables: {t_kikan:8.2f} s  ({n / t_kikan:,.0f} rows/s, all {len(rules)} rules, exact counts)")
    for rid, want in sorted(truth.items()):
        if rid in kikan_counts:
            assert kikan_counts[rid] == len(want), (rid, kikan_counts[rid], len(want))
    print("  planted defects: every count equals the truth")

    ge_counts, t_ge, t_pd, n_exp = run_ge(frames, specs)
    print(f"Great Expectations:        {t_ge:8.2f} s  ({n_exp} expectations on pandas; +{t_pd:.1f}s to_pandas not counted)")
    ratio = t_ge / t_kikan
    print(f"  → kikan-hub is {ratio:.1f}× faster than GE (bar ≥ {args.bar:.0f}×)")
    for rid in ("ISL-CODE.juki_jumin", "JUKI-ZOKUGARA", "JUKI-BIRTH-IDOU", "ISL-TYPE.juki_jumin"):
        print(f"  {rid:28s} kikan {kikan_counts.get(rid, 0):>6,}  GE unexpected {ge_counts.get(rid, 0):>6,} ({eq.get(rid)})")

    if not args.skip_frictionless:
        with tempfile.TemporaryDirectory() as tmp:
            fr_errors, t_fr, t_csv = run_frictionless(frames, specs, Path(tmp))
        print(f"frictionless:              {t_fr:8.2f} s  (Table Schema over CSV; +{t_csv:.1f}s CSV write not counted; "
              f"errors {sum(fr_errors.values()):,})")
        print(f"  → kikan-hub is {t_fr / t_kikan:.1f}× faster than frictionless")
    return 0 if ratio >= args.bar else 1


if __name__ == "__main__":
    raise SystemExit(main())
