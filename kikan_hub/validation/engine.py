"""The gate engine: run the catalogue's rules on canonical tables, count exactly, keep every failure.

    validate_tables({"juki_jumin": arrow_or_polars_or_parquet_path, ...}, gyomu="juki")
    validate_store(engine, gyomu=None, tables=None)
    validate_run(run_dir)          # RUN_DIR/staging/*.parquet (+ summary.json and quarantine)

Row rules of one table are evaluated together in one polars ``select``; group rules (history
numbering, 世帯主 per household, cross-table references) run on the frames. No sample size or
cap ever touches a count: ``failed`` is the number of failing units and ``failures`` holds every
one of them, in full.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import polars as pl
import pyarrow as pa

from kikan_hub.layouts.isl import all_tables
from kikan_hub.validation.catalogue import LEVEL_ORDER, Rule, gate_rules, gyomu_name, level_for, worst
from kikan_hub.validation.checks import GROUP_CHECKS, ROW_CHECKS, RowCheck


@dataclass
class RuleResult:
    rule: Rule
    failed: int
    total: int
    level: str
    failures: pl.DataFrame            # every failing unit: full rows (+ _items, _reason) or group keys
    key_columns: list[str]
    status: str = "checked"            # checked | skipped
    note: str = ""

    id = property(lambda self: self.rule.id)
    title = property(lambda self: self.rule.title)
    division = property(lambda self: self.rule.division)
    gyomu = property(lambda self: self.rule.gyomu)
    table = property(lambda self: self.rule.table)
    unit = property(lambda self: self.rule.unit)

    @property
    def keys(self) -> list[dict]:
        """The failing units' keys (e.g. 宛名番号＋履歴番号), all of them."""
        cols = [c for c in self.key_columns if c in self.failures.columns]
        return self.failures.select(cols).unique(maintain_order=True).to_dicts() if cols else []

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "division": self.division, "gyomu": self.gyomu,
                "gyomu_name": gyomu_name(self.gyomu), "table": self.table, "severity": self.rule.severity,
                "unit": self.unit, "level": self.level, "failed": self.failed, "total": self.total,
                "status": self.status, "note": self.note, "thresholds": dict(self.rule.thresholds),
                "description": self.rule.description, "key_columns": list(self.key_columns)}


@dataclass
class ValidationResult:
    rules: list[RuleResult]
    table_rows: dict[str, int] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return worst(r.level for r in self.rules)

    def by_id(self) -> dict[str, RuleResult]:
        return {r.id: r for r in self.rules}

    def __getitem__(self, rule_id: str) -> RuleResult:
        return self.by_id()[rule_id]

    def failing(self) -> list[RuleResult]:
        return [r for r in self.rules if r.failed]

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "tables": dict(self.table_rows), "rules": [r.to_dict() for r in self.rules]}

    def write_failures(self, directory: Path) -> dict[str, str]:
        """Every failing unit of every rule to DIR/<rule>.parquet (counts exact, rows in full)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.parquet"):
            old.unlink()
        paths = {}
        for r in self.rules:
            if r.failed:
                p = directory / f"{r.id}.parquet"
                r.failures.write_parquet(p)
                paths[r.id] = str(p)
        return paths


TableLike = Any  # pa.Table | pl.DataFrame | str | Path (parquet)


def as_frame(value: TableLike) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, (pa.Table, pa.RecordBatch)):
        return pl.from_arrow(value)  # type: ignore[return-value]
    if isinstance(value, (str, Path)):
        return pl.read_parquet(value)
    raise TypeError(f"cannot read a table from {type(value).__name__}")


def _row_rule_result(rule: Rule, df: pl.DataFrame, checks: list[RowCheck], fail_cols: pl.DataFrame | None,
                     prefix: str) -> RuleResult:
    table = all_tables()[rule.table]
    if not checks:
        return RuleResult(rule, 0, df.height, "ok", df.head(0), list(table.primary_key), "skipped", "対象の項目がありません")
    names = [f"{prefix}{i}" for i in range(len(checks))]
    mask = fail_cols.select(pl.any_horizontal(names)).to_series()
    failed = int(mask.sum())
    if failed:
        sub = fail_cols.filter(mask)
        items = sub.select(pl.concat_str([pl.when(pl.col(n)).then(pl.lit(c.item)) for n, c in zip(names, checks)],
                                         separator=",", ignore_nulls=True).alias("_items"),
                           pl.concat_str([pl.when(pl.col(n)).then(pl.lit(f"{c.label}: {c.message}"))
                                          for n, c in zip(names, checks)], separator="、", ignore_nulls=True).alias("_reason"))
        failures = pl.concat([df.filter(mask), items], how="horizontal")
        # an item failing two sub-checks is one item
        failures = failures.with_columns(pl.col("_items").str.split(",").list.unique(maintain_order=True).list.join(","))
    else:
        failures = df.head(0).with_columns(_items=pl.lit(None, pl.Utf8), _reason=pl.lit(None, pl.Utf8))
    return RuleResult(rule, failed, df.height, level_for(rule, failed, df.height), failures, list(table.primary_key))


def _refine(df: pl.DataFrame, fail_cols: pl.DataFrame, row_rules) -> pl.DataFrame:
    """Two-stage checks: evaluate the exact test only on the rows the cheap superset marked."""
    updates = []
    for ri, (_r, checks) in enumerate(row_rules):
        for i, c in enumerate(checks):
            if c.exact is None:
                continue
            name = f"r{ri}_{i}"
            cand = fail_cols.get_column(name)
            if not cand.any():
                continue
            idx = cand.arg_true()
            exact = df[idx].select(c.exact.alias(name)).to_series()
            col = cand.clone()
            col.scatter(idx, exact)
            updates.append(col)
    return fail_cols.with_columns(updates) if updates else fail_cols


def validate_tables(tables: Mapping[str, TableLike], gyomu: str | None = None,
                    rules: list[Rule] | None = None) -> ValidationResult:
    """Run the gate rules on canonical tables (only those present; the others are not reported)."""
    frames = {name: as_frame(v) for name, v in tables.items()}
    isl = all_tables()
    selected = rules if rules is not None else gate_rules(gyomu)
    results: list[RuleResult] = []
    by_table: dict[str, list[Rule]] = {}
    for rule in selected:
        if rule.table in frames and rule.table in isl:
            by_table.setdefault(rule.table, []).append(rule)
    for tid, trules in by_table.items():
        df = frames[tid]
        cols = set(df.columns)
        table = isl[tid]
        row_rules = [(r, ROW_CHECKS[r.check["kind"]](table, cols, r.check)) for r in trules if r.check["kind"] in ROW_CHECKS]
        exprs = []
        for ri, (r, checks) in enumerate(row_rules):
            exprs += [c.fails.alias(f"r{ri}_{i}") for i, c in enumerate(checks)]
        fail_cols = df.select(exprs) if exprs else None
        fail_cols = _refine(df, fail_cols, row_rules) if fail_cols is not None else None
        for ri, (r, checks) in enumerate(row_rules):
            results.append(_row_rule_result(r, df, checks, fail_cols, f"r{ri}_"))
        for r in trules:
            fn = GROUP_CHECKS.get(r.check["kind"])
            if fn is None:
                if r.check["kind"] not in ROW_CHECKS:
                    raise KeyError(f"rule {r.id}: no registered check {r.check['kind']!r}")
                continue
            out = fn(frames, table, r.check)
            if out is None:
                results.append(RuleResult(r, 0, 0, "ok", pl.DataFrame(), list(table.primary_key), "skipped",
                                          "必要なテーブル・項目がありません"))
                continue
            results.append(RuleResult(r, out.failed, out.total, level_for(r, out.failed, out.total), out.failures,
                                      out.key_columns))
    order = {r.id: i for i, r in enumerate(selected)}
    results.sort(key=lambda x: (x.gyomu, x.table, order.get(x.id, 0)))
    return ValidationResult(results, {t: f.height for t, f in frames.items()})


def read_store_tables(engine, table_ids: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """Canonical tables of a store as polars frames (only the tables that exist and have rows)."""
    import sqlalchemy as sa

    from kikan_hub.store.schema import build_metadata

    md = build_metadata()
    insp = sa.inspect(engine)
    existing = set(insp.get_table_names())
    out: dict[str, pl.DataFrame] = {}
    for tid in table_ids or sorted(all_tables()):
        if tid not in existing:
            continue
        t = md.tables[tid]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t)).mappings().all()
        if not rows:
            continue
        schema = _polars_schema(tid)
        out[tid] = pl.DataFrame([dict(r) for r in rows], schema=schema, orient="row", strict=False)
    return out


def _polars_schema(table_id: str) -> dict[str, pl.DataType]:
    typ = {"text": pl.Utf8, "integer": pl.Int64, "date": pl.Date, "flag": pl.Boolean, "decimal": pl.Float64}
    return {c.name: typ[c.type] for c in all_tables()[table_id].columns}


def validate_store(engine, gyomu: str | None = None, tables: list[str] | None = None) -> ValidationResult:
    return validate_tables(read_store_tables(engine, tables), gyomu=gyomu)


def validate_run(run_dir: Path, gyomu: str | None = None) -> tuple[ValidationResult, dict]:
    """Validate a rehearsal's staged canonical rows; returns (result, summary.json as dict, with quarantine counts)."""
    run_dir = Path(run_dir)
    staging = {p.stem: p for p in sorted((run_dir / "staging").glob("*.parquet"))}
    result = validate_tables(staging, gyomu=gyomu)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    summary.setdefault("quarantine_counts", quarantine_counts(run_dir))
    return result, summary


def quarantine_counts(run_dir: Path) -> dict[str, dict[str, int]]:
    """Per quarantine file: records per rule id, read from RUN_DIR/quarantine/*.parquet (exact)."""
    out: dict[str, dict[str, int]] = {}
    for p in sorted((Path(run_dir) / "quarantine").glob("*.parquet")):
        q = pl.read_parquet(p, columns=["rule_ids"])
        counts = (q.select(pl.col("rule_ids").str.split(",")).explode("rule_ids")
                  .group_by("rule_ids").len().sort("rule_ids"))
        out[p.stem] = {r["rule_ids"]: int(r["len"]) for r in counts.to_dicts()}
        out[p.stem]["_records"] = q.height
    return out


__all__ = ["RuleResult", "ValidationResult", "validate_tables", "validate_store", "validate_run",
           "quarantine_counts", "as_frame", "LEVEL_ORDER"]
