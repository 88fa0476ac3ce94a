"""The catalogue's row rules compiled to pandera schemas (polars backend).

One ``DataFrameSchema`` per canonical table: a ``Column`` per ISL column with its polars dtype
(derived from the layout, like the store's SQL types) and one dataframe-level ``Check`` per
row check of every row rule, named ``<rule id>|<item>``, built from the very expressions the
engine evaluates — so the schema and the gate cannot disagree. Group rules (history, 世帯主
per household, cross-table references) are not row checks and stay with the engine.

    schema = pandera_schema("juki_jumin", df.columns)
    failed = validate_with_pandera(df, "juki_jumin")   # {rule id: failing rows}
"""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

from kikan_hub.layouts.isl import all_tables
from kikan_hub.layouts.types import polars_type
from kikan_hub.validation.catalogue import Rule, gate_rules
from kikan_hub.validation.checks import ROW_CHECKS

def _ok_check(expr: pl.Expr, name: str) -> pa.Check:
    ok = (~expr).alias("ok")
    return pa.Check(lambda data, _ok=ok: data.lazyframe.select(_ok), name=name)


def pandera_schema(table_id: str, columns, rules: list[Rule] | None = None) -> pa.DataFrameSchema:
    table = all_tables()[table_id]
    cols = set(columns)
    rules = [r for r in (rules if rules is not None else gate_rules()) if r.table == table_id and r.check.get("kind") in ROW_CHECKS]
    checks = []
    for rule in rules:
        for rc in ROW_CHECKS[rule.check["kind"]](table, cols, rule.check):
            checks.append(_ok_check(rc.expr, f"{rule.id}|{rc.item}"))
    pcols = {c.name: pa.Column(polars_type(c), nullable=True, required=False,
                               description=(c.item.name if c.item else c.name))
             for c in table.columns if c.name in cols}
    return pa.DataFrameSchema(columns=pcols, checks=checks, name=f"{table_id}（{table.name}）", strict=False)


def validate_with_pandera(df: pl.DataFrame, table_id: str, rules: list[Rule] | None = None) -> dict[str, int]:
    """Failing rows per rule id (a row failing two items of a rule counts once), via pandera."""
    schema = pandera_schema(table_id, df.columns, rules)
    try:
        schema.validate(df, lazy=True)
        return {}
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc.filter(pl.col("check").str.contains("|", literal=True) & pl.col("index").is_not_null())
    counts = (fc.select(pl.col("check").str.split("|").list.first().alias("rule"), "index").unique()
              .group_by("rule").len())
    return {r["rule"]: int(r["len"]) for r in counts.to_dicts()}
