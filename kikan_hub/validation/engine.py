"""The gate engine: run the catalogue's rules on canonical tables, count exactly, keep every failure.

    validate_tables({"juki_jumin": arrow_or_polars_or_parquet_path, ...}, gyomu="juki")
    (a store's tables: kikan_hub.store.frames.validate_store — store/ sits above validation/)
    validate_run(run_dir)          # RUN_DIR/staging/*.parquet (+ summary.json and quarantine)

Row rules of one table are evaluated together in one polars ``select`` per batch of rows (a
Parquet input is read batch by batch, never whole); group rules (history numbering, 世帯主 per
household, cross-table references) read only their key columns, a large table one key-hash
partition at a time (group_checks.py), so memory does not grow with the input. No
sample size or cap ever touches a count: ``failed`` is the number of failing units and
``failures`` holds every one of them, in full (in memory while small, else in a Parquet spill
file; ``sample`` keeps the first rows in memory for reports).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from kikan_hub.layouts.isl import all_tables
from kikan_hub.layouts.types import polars_schema
from kikan_hub.validation.catalogue import LEVEL_ORDER, Rule, gate_rules, gyomu_name, level_for, worst
from kikan_hub.validation import group_checks  # noqa: F401 — registers the group checks
from kikan_hub.validation import tax_checks  # noqa: F401 — registers the tax rules' checks
from kikan_hub.validation import xref_checks  # noqa: F401 — registers the cross-業務 checks
from kikan_hub.validation.checks import GROUP_CHECKS, ROW_CHECKS, GroupOutcome, RowCheck

BATCH_ROWS = 131072            # rows per batch of the row rules (memory ∝ batch, not table)
SPILL_BYTES = 16 * 2 ** 20     # a rule's failing rows beyond this go to a Parquet file, not memory
SAMPLE_KEEP = 100              # failing rows always kept in memory per rule (reports show ≤ 20)


class RuleResult:
    """One rule's outcome. ``failures`` is every failing unit in full: in memory while small, else
    in a Parquet spill file read back on access (``sample`` and ``failure_rows`` never read it)."""

    def __init__(self, rule: Rule, failed: int, total: int, level: str, failures: pl.DataFrame | None = None,
                 key_columns: list[str] | None = None, status: str = "checked", note: str = "", *,
                 failures_path: Path | None = None, failure_rows: int | None = None,
                 sample: pl.DataFrame | None = None, spill: Any = None):
        self.rule, self.failed, self.total, self.level = rule, failed, total, level
        self.key_columns = list(key_columns or [])
        self.status, self.note = status, note
        self._failures = failures
        self.failures_path = Path(failures_path) if failures_path is not None else None
        self._spill = spill              # keeps the spill directory alive as long as this result
        if failures is not None:
            self.failure_rows = failures.height if failure_rows is None else failure_rows
            self.sample = failures.head(SAMPLE_KEEP) if sample is None else sample
        else:
            self.failure_rows = failure_rows or 0
            self.sample = sample if sample is not None else pl.DataFrame()

    id = property(lambda self: self.rule.id)
    title = property(lambda self: self.rule.title)
    division = property(lambda self: self.rule.division)
    gyomu = property(lambda self: self.rule.gyomu)
    table = property(lambda self: self.rule.table)
    unit = property(lambda self: self.rule.unit)

    @property
    def failures(self) -> pl.DataFrame:
        """Every failing unit: full rows (+ _items, _reason) or group keys (read from the spill file if spilled)."""
        if self._failures is None and self.failures_path is not None:
            return pl.read_parquet(self.failures_path)
        return self._failures if self._failures is not None else pl.DataFrame()

    @failures.setter
    def failures(self, value: pl.DataFrame) -> None:
        self._failures, self.failures_path = value, None
        self.failure_rows, self.sample = value.height, value.head(SAMPLE_KEEP)

    def _failure_frame(self) -> pl.LazyFrame:
        if self._failures is None and self.failures_path is not None:
            return pl.scan_parquet(self.failures_path)
        return self.failures.lazy()

    @property
    def failure_columns(self) -> list[str]:
        return self._failure_frame().collect_schema().names()

    @property
    def keys(self) -> list[dict]:
        """The failing units' keys (e.g. 宛名番号＋履歴番号), all of them."""
        cols = [c for c in self.key_columns if c in self.failure_columns]
        return self._failure_frame().select(cols).unique(maintain_order=True).collect().to_dicts() if cols else []

    def write_failures(self, path: Path) -> None:
        """Every failing unit to one Parquet file (copied from the spill file when spilled)."""
        if self._failures is None and self.failures_path is not None:
            shutil.copyfile(self.failures_path, path)
        else:
            self.failures.write_parquet(path)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "division": self.division, "gyomu": self.gyomu,
                "gyomu_name": gyomu_name(self.gyomu), "table": self.table, "severity": self.rule.severity,
                "unit": self.unit, "level": self.level, "failed": self.failed, "total": self.total,
                "status": self.status, "note": self.note, "thresholds": dict(self.rule.thresholds),
                "description": self.rule.description, "key_columns": list(self.key_columns),
                "override": self.rule.override}

    def __repr__(self) -> str:
        return f"RuleResult({self.id!r}, failed={self.failed}, total={self.total}, level={self.level!r})"


class ValidationResult:
    def __init__(self, rules: list[RuleResult], table_rows: dict[str, int] | None = None, spill: Any = None):
        self.rules = rules
        self.table_rows = dict(table_rows or {})
        self._spill = spill

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
                r.write_failures(p)
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


class _Source:
    """One input table without materialising it: a Parquet file is read in batches of only the
    columns needed (or scanned lazily with projection); an in-memory frame is sliced."""

    def __init__(self, value: TableLike):
        self.path: Path | None = None
        self.frame: pl.DataFrame | None = None
        if isinstance(value, (str, Path)):
            self.path = Path(value)
            self.schema = pl.read_parquet_schema(self.path)
            self.height = pq.ParquetFile(self.path).metadata.num_rows
        else:
            self.frame = as_frame(value)
            self.schema = dict(self.frame.schema)
            self.height = self.frame.height
        self.columns = list(self.schema)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def lazy(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path) if self.path is not None else self.frame.lazy()  # type: ignore[union-attr]

    def batches(self, columns: list[str] | None = None, rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
        if self.frame is not None:
            df = self.frame.select(columns) if columns is not None else self.frame
            for off in range(0, max(df.height, 1), rows):
                yield df.slice(off, rows)
            return
        # polars pushes the slice and the projection down to the Parquet reader: only the row
        # groups under the slice and only the columns asked for are read (pyarrow's
        # iter_batches buffers far more than one batch).
        scan = pl.scan_parquet(self.path)
        if columns is not None:
            scan = scan.select(columns)
        for off in range(0, max(self.height, 1), rows):
            yield scan.slice(off, rows).collect()


class _Spill:
    """A temporary directory for failing rows too many to keep in memory (removed with the result)."""

    def __init__(self, parent: Path | None = None):
        self._dir: tempfile.TemporaryDirectory | None = None
        self._parent = parent

    def path(self, name: str) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="kikan-validation-",
                                                    dir=str(self._parent) if self._parent else None)
        return Path(self._dir.name) / f"{name}.parquet"


def _owned(df: pl.DataFrame) -> pl.DataFrame:
    """A copy that holds only its own rows' bytes. A filtered or gathered string column still
    points into its whole batch's buffers (string views): keeping a few failing rows of every
    batch would keep every batch, and memory would grow with the table."""
    return pl.from_arrow(df.to_arrow(compat_level=pl.CompatLevel.oldest()))  # type: ignore[return-value]


class _Sink:
    """Failing rows of one rule, batch by batch: in memory up to SPILL_BYTES, then to Parquet."""

    def __init__(self, spill: _Spill, name: str):
        self.spill, self.name = spill, name
        self.parts: list[pl.DataFrame] = []
        self.buffered = 0
        self.rows = 0
        self.sample: list[pl.DataFrame] = []
        self.sampled = 0
        self.writer: pq.ParquetWriter | None = None
        self.file: Path | None = None
        self.arrow_schema: pa.Schema | None = None

    def add(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        df = _owned(df)
        self.rows += df.height
        if self.sampled < SAMPLE_KEEP:
            self.sample.append(df.head(SAMPLE_KEEP - self.sampled))
            self.sampled += self.sample[-1].height
        if self.writer is not None:
            self._write(df)
            return
        self.parts.append(df)
        self.buffered += df.estimated_size()
        if self.buffered > SPILL_BYTES:
            self.file = self.spill.path(self.name)
            first = pl.concat(self.parts, how="vertical_relaxed")
            self.parts, self.buffered = [], 0
            self.arrow_schema = first.to_arrow().schema
            self.writer = pq.ParquetWriter(self.file, self.arrow_schema, compression="zstd")
            self._write(first)

    def _write(self, df: pl.DataFrame) -> None:
        self.writer.write_table(df.to_arrow().cast(self.arrow_schema))  # type: ignore[union-attr]

    def result(self, rule: Rule, failed: int, total: int, key_columns: list[str], empty: pl.DataFrame,
               status: str = "checked", note: str = "") -> RuleResult:
        level = level_for(rule, failed, total) if status == "checked" else "ok"
        sample = pl.concat(self.sample, how="vertical_relaxed") if self.sample else empty
        if self.writer is not None:
            self.writer.close()
            return RuleResult(rule, failed, total, level, None, key_columns, status, note, failures_path=self.file,
                              failure_rows=self.rows, sample=sample, spill=self.spill)
        frame = pl.concat(self.parts, how="vertical_relaxed") if self.parts else empty
        return RuleResult(rule, failed, total, level, frame, key_columns, status, note, sample=sample)


def _fail_names(row_rules) -> list[list[str]]:
    return [[f"r{ri}_{i}" for i in range(len(checks))] for ri, (_r, checks) in enumerate(row_rules)]


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


def _failing_rows(df: pl.DataFrame, mask: pl.Series, sub: pl.DataFrame, names: list[str],
                  checks: list[RowCheck]) -> pl.DataFrame:
    items = sub.select(pl.concat_str([pl.when(pl.col(n)).then(pl.lit(c.item)) for n, c in zip(names, checks)],
                                     separator=",", ignore_nulls=True).alias("_items"),
                       pl.concat_str([pl.when(pl.col(n)).then(pl.lit(f"{c.label}: {c.message}"))
                                      for n, c in zip(names, checks)], separator="、", ignore_nulls=True).alias("_reason"))
    failures = pl.concat([df.filter(mask), items], how="horizontal")
    # an item failing two sub-checks is one item
    return failures.with_columns(pl.col("_items").str.split(",").list.unique(maintain_order=True).list.join(","))


def _row_rules(src: _Source, table, trules: list[Rule], spill: _Spill, batch_rows: int) -> list[RuleResult]:
    """Every row rule of one table, batch by batch: exact counts, failing rows kept (or spilled)."""
    cols = set(src.columns)
    row_rules = [(r, ROW_CHECKS[r.check["kind"]](table, cols, r.check)) for r in trules if r.check["kind"] in ROW_CHECKS]
    if not row_rules:
        return []
    names = _fail_names(row_rules)
    exprs = [c.fails.alias(n) for (_r, checks), ns in zip(row_rules, names) for c, n in zip(checks, ns)]
    empty = src.empty()
    empty_fail = empty.with_columns(_items=pl.lit(None, pl.Utf8), _reason=pl.lit(None, pl.Utf8))
    sinks = [_Sink(spill, r.id) for r, _ in row_rules]
    failed = [0] * len(row_rules)
    if exprs:
        for df in src.batches(rows=batch_rows):
            # Lazy, so that the rules' shared sub-expressions (casts, slices, years) are computed
            # once per batch, not once per rule (polars' common-subexpression elimination).
            fail_cols = _refine(df, df.lazy().select(exprs).collect(), row_rules)
            for ri, (r, checks) in enumerate(row_rules):
                if not checks:
                    continue
                mask = fail_cols.select(pl.any_horizontal(names[ri])).to_series()
                n = int(mask.sum())
                if n:
                    failed[ri] += n
                    sinks[ri].add(_failing_rows(df, mask, fail_cols.filter(mask), names[ri], checks))
            del df, fail_cols
    out = []
    pk = list(table.primary_key)
    for ri, (r, checks) in enumerate(row_rules):
        if not checks:
            out.append(RuleResult(r, 0, src.height, "ok", empty, pk, "skipped", "対象の項目がありません"))
        else:
            out.append(sinks[ri].result(r, failed[ri], src.height, pk, empty_fail))
    return out


def _rows_in_full(src: _Source, rows: pl.DataFrame, sink: _Sink, batch_rows: int) -> None:
    """The table's rows whose index is in `rows` (_row + extra columns), in full, in table order."""
    rows = rows.sort("_row")
    off = 0
    for df in src.batches(rows=batch_rows):
        n = df.height
        part = rows.filter((pl.col("_row") >= off) & (pl.col("_row") < off + n))
        if part.height:
            picked = df.with_row_index("_row", offset=off).join(part, on="_row", how="inner").sort("_row").drop("_row")
            sink.add(picked)
        off += n


def _group_rule(r: Rule, fn, src: _Source, table, lazy: dict, spill: _Spill, batch_rows: int) -> RuleResult:
    out: GroupOutcome | None = fn(lazy, table, r.check)
    if out is None:
        return RuleResult(r, 0, 0, "ok", pl.DataFrame(), list(table.primary_key), "skipped",
                          "必要なテーブル・項目がありません")
    sink = _Sink(spill, r.id)
    failed, total, key_columns = out.failed, out.total, out.key_columns
    if out.rows is not None:        # failing rows of the table, named by index: fetch them in full
        _rows_in_full(src, out.rows, sink, batch_rows)
        empty = src.empty().with_columns(**{c: pl.lit(None, t) for c, t in out.rows.drop("_row").schema.items()})
    else:
        sink.add(out.failures)
        empty = out.failures.head(0)
    return sink.result(r, failed, total, key_columns, empty)


def validate_tables(tables: Mapping[str, TableLike], gyomu: str | None = None,
                    rules: list[Rule] | None = None, *, batch_rows: int | None = None,
                    spill_dir: Path | None = None) -> ValidationResult:
    """Run the gate rules on canonical tables (only those present; the others are not reported).

    Parquet paths are never materialised whole: row rules run over batches of `batch_rows` rows,
    group rules read only their key columns, failing rows beyond SPILL_BYTES per rule go to a
    temporary Parquet file (under `spill_dir`, default the system temp dir)."""
    batch_rows = batch_rows or BATCH_ROWS
    sources = {name: _Source(v) for name, v in tables.items()}
    lazy = {name: s.lazy() for name, s in sources.items()}
    spill = _Spill(Path(spill_dir) if spill_dir else None)
    isl = all_tables()
    selected = rules if rules is not None else gate_rules(gyomu)
    results: list[RuleResult] = []
    by_table: dict[str, list[Rule]] = {}
    for rule in selected:
        if rule.table in sources and rule.table in isl:
            by_table.setdefault(rule.table, []).append(rule)
    # Group rules first: they need a few long columns at a time, and the allocator hands the
    # memory they free to the row rules' many short batches (the other way round it is kept
    # aside and the peaks add up).
    for tid, trules in by_table.items():
        src, table = sources[tid], isl[tid]
        for r in trules:
            fn = GROUP_CHECKS.get(r.check["kind"])
            if fn is None:
                if r.check["kind"] not in ROW_CHECKS:
                    raise KeyError(f"rule {r.id}: no registered check {r.check['kind']!r}")
                continue
            results.append(_group_rule(r, fn, src, table, lazy, spill, batch_rows))
    for tid, trules in by_table.items():
        results += _row_rules(sources[tid], isl[tid], trules, spill, batch_rows)
    order = {r.id: i for i, r in enumerate(selected)}
    results.sort(key=lambda x: (x.gyomu, x.table, order.get(x.id, 0)))
    return ValidationResult(results, {t: s.height for t, s in sources.items()}, spill)


def _polars_schema(table_id: str) -> dict[str, pl.DataType]:
    return polars_schema(all_tables()[table_id].columns)   # decimals stay decimal (layouts/types.py)


def validate_run(run_dir: Path, gyomu: str | None = None) -> tuple[ValidationResult, dict]:
    """Validate a rehearsal's staged canonical rows; returns (result, summary.json as dict, with quarantine counts)."""
    from kikan_hub.validation.overrides import apply_overrides, parse_overrides

    run_dir = Path(run_dir)
    staging = {p.stem: p for p in sorted((run_dir / "staging").glob("*.parquet"))}
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    # The rehearsal's own rule overrides (manifest rules:) judge its staged rows again the same way.
    overrides = parse_overrides({o["rule_id"]: {k: o[k] for k in ("thresholds", "severity", "reason") if k in o}
                                 for o in summary.get("rule_overrides") or []} or None)
    # Every gate rule, the item rules a rehearsal judged per record (stage: record) included: this is
    # a judgement of the staged rows again (those rules then find only what the record stage loaded).
    result = validate_tables(staging, gyomu=gyomu, rules=apply_overrides(gate_rules(gyomu), overrides))
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


__all__ = ["RuleResult", "ValidationResult", "validate_tables", "validate_run",
           "quarantine_counts", "as_frame", "LEVEL_ORDER"]
