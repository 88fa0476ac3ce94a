"""What changed between two rehearsals: per rule and per table.

* rules: count in A and in B, and the failing units newly failing in B or fixed since A
  (compared by the rule's key columns over the full failure Parquet files, never samples);
* quarantine: records per quarantine rule in A and in B;
* tables: staged canonical rows compared by primary key + a content hash per row (lineage
  columns excluded): added, removed, changed, unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from kikan_hub.layouts.isl import all_tables

SAMPLE_KEYS = 20


def _rule_counts(run_dir: Path) -> tuple[dict[str, dict], str]:
    """Rule results of a run: from report/report.json when written, else by validating the staging files."""
    rep = run_dir / "report" / "report.json"
    if rep.exists():
        data = json.loads(rep.read_text(encoding="utf-8"))
        return {r["id"]: r for r in data["rules"]}, "report"
    from kikan_hub.validation.engine import validate_run

    result, _ = validate_run(run_dir)
    result.write_failures(run_dir / "report" / "failures")
    return {r.id: r.to_dict() for r in result.rules}, "validated"


def _failure_keys(run_dir: Path, rule_id: str, key_columns: list[str]) -> pl.DataFrame | None:
    p = run_dir / "report" / "failures" / f"{rule_id}.parquet"
    if not p.exists():
        return None
    df = pl.read_parquet(p)
    cols = [c for c in key_columns if c in df.columns]
    return df.select(cols).unique() if cols else None


def _keys_diff(a: pl.DataFrame | None, b: pl.DataFrame | None, key_columns: list[str]) -> tuple[int, int, list, list]:
    if a is None and b is None:
        return 0, 0, [], []
    cols = [c for c in key_columns if (a is None or c in a.columns) and (b is None or c in b.columns)]
    empty = pl.DataFrame({c: [] for c in cols}, schema=(a if a is not None else b).select(cols).schema)
    a = a.select(cols) if a is not None else empty
    b = b.select(cols) if b is not None else empty
    new = b.join(a, on=cols, how="anti", nulls_equal=True).sort(cols)
    fixed = a.join(b, on=cols, how="anti", nulls_equal=True).sort(cols)
    return new.height, fixed.height, _plain(new.head(SAMPLE_KEYS).to_dicts()), _plain(fixed.head(SAMPLE_KEYS).to_dicts())


def _plain(rows: list[dict]) -> list[dict]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]


# staged tables that are not ISL tables (the rehearsal's control records) and their keys
OTHER_KEYS = {"_control_records": ["source_key", "record_no"]}


def _primary_key(table_id: str, columns: list[str]) -> list[str]:
    table = all_tables().get(table_id)
    if table:
        return list(table.primary_key)
    keys = [c for c in OTHER_KEYS.get(table_id, []) if c in columns]
    return keys or [c for c in columns if not c.startswith("_")][:1] or columns[:1]


def _as_text(df: pl.DataFrame, c: str) -> pl.Expr:
    dtype = df.schema[c]
    e = pl.col(c).bin.encode("hex") if dtype == pl.Binary else pl.col(c).cast(pl.Utf8)
    return e.fill_null("\x00")


def _row_hashes(path: Path, table_id: str) -> pl.DataFrame:
    df = pl.read_parquet(path)
    pk = _primary_key(table_id, df.columns)
    lineage = set() if table_id not in all_tables() else {c for c in df.columns if c.startswith("_")}
    content = sorted(c for c in df.columns if c not in lineage and c not in ("_run_id",))
    return df.select(*pk, pl.concat_str([_as_text(df, c) for c in content], separator="\x1f")
                     .hash(seed=20240401).alias("_hash"))


def _table_diff(a_path: Path | None, b_path: Path | None, table_id: str) -> dict:
    table = all_tables().get(table_id)
    if a_path is None or b_path is None:
        one = _row_hashes(a_path or b_path, table_id)
        return {"table": table_id, "name": table.name if table else table_id, "rows_a": one.height if a_path else 0,
                "rows_b": one.height if b_path else 0, "added": 0 if a_path else one.height,
                "removed": one.height if a_path else 0, "changed": 0, "unchanged": 0,
                "added_keys": [], "removed_keys": [], "changed_keys": []}
    a, b = _row_hashes(a_path, table_id), _row_hashes(b_path, table_id)
    pk = [c for c in a.columns if c != "_hash"]
    added = b.join(a, on=pk, how="anti", nulls_equal=True).sort(pk)
    removed = a.join(b, on=pk, how="anti", nulls_equal=True).sort(pk)
    both = a.join(b, on=pk, how="inner", suffix="_b", nulls_equal=True)
    changed = both.filter(pl.col("_hash") != pl.col("_hash_b")).sort(pk)
    return {"table": table_id, "name": table.name if table else table_id, "rows_a": a.height, "rows_b": b.height,
            "added": added.height, "removed": removed.height, "changed": changed.height,
            "unchanged": both.height - changed.height,
            "added_keys": _plain(added.select(pk).head(SAMPLE_KEYS).to_dicts()),
            "removed_keys": _plain(removed.select(pk).head(SAMPLE_KEYS).to_dicts()),
            "changed_keys": _plain(changed.select(pk).head(SAMPLE_KEYS).to_dicts())}


def _quarantine(run_dir: Path) -> dict[str, int]:
    from kikan_hub.validation.engine import quarantine_counts

    total: dict[str, int] = {}
    for counts in quarantine_counts(run_dir).values():
        for rid, n in counts.items():
            if rid != "_records":
                total[rid] = total.get(rid, 0) + n
    return total


def diff_runs(run_a: Path, run_b: Path) -> dict:
    run_a, run_b = Path(run_a), Path(run_b)
    ra, _ = _rule_counts(run_a)
    rb, _ = _rule_counts(run_b)
    rules = []
    for rid in sorted(set(ra) | set(rb)):
        x, y = ra.get(rid), rb.get(rid)
        keys = (y or x).get("key_columns") or []
        new, fixed, new_keys, fixed_keys = _keys_diff(_failure_keys(run_a, rid, keys), _failure_keys(run_b, rid, keys), keys)
        rules.append({"id": rid, "title": (y or x)["title"], "division": (y or x)["division"],
                      "table": (y or x).get("table", ""), "unit": (y or x).get("unit", "件"),
                      "failed_a": x["failed"] if x else None, "failed_b": y["failed"] if y else None,
                      "delta": (y["failed"] if y else 0) - (x["failed"] if x else 0),
                      "level_a": x["level"] if x else None, "level_b": y["level"] if y else None,
                      "newly_failing": new, "fixed": fixed, "newly_failing_keys": new_keys, "fixed_keys": fixed_keys})
    qa, qb = _quarantine(run_a), _quarantine(run_b)
    quarantine = [{"id": rid, "failed_a": qa.get(rid, 0), "failed_b": qb.get(rid, 0), "delta": qb.get(rid, 0) - qa.get(rid, 0)}
                  for rid in sorted(set(qa) | set(qb))]
    sa = {p.stem: p for p in (run_a / "staging").glob("*.parquet")}
    sb = {p.stem: p for p in (run_b / "staging").glob("*.parquet")}
    tables = [_table_diff(sa.get(t), sb.get(t), t) for t in sorted(set(sa) | set(sb))]
    summ = {}
    for name, d in (("a", run_a), ("b", run_b)):
        p = d / "summary.json"
        s = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        summ[name] = {"run_dir": str(d), "run_id": s.get("run_id"), "records_read": s.get("records_read"),
                      "records_loaded": s.get("records_loaded"), "records_quarantined": s.get("records_quarantined")}
    return {"a": summ["a"], "b": summ["b"], "rules": rules, "quarantine": quarantine, "tables": tables}
