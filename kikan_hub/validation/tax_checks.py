"""Registered checks the tax rules (rules/zei.yaml) are written in: statute arithmetic as data.

* ``sql_row`` (row check): ``when`` ⇒ ``require``, both SQL boolean expressions over the row
  (polars SQL). Code-table data is spliced in by placeholders, so a rate or a ratio is never
  written twice (the code table is the one source):

  - ``{col:path}`` — CASE over the value of code item ``col`` using the extra ``path`` of its
    code table (``nendo_su``, ``kotei_ritsu/1`` = second element of a list);
  - ``{col@table:path}`` — the same with an explicit code table (``juka.rates``);
  - ``{rate:table:code}`` / ``{rate:table:@col}`` — the ``standard_rate`` windows of one code
    (or of the code in ``col``) evaluated at ``kazei_nendo``;
  - ``{list:table:path}`` — a SQL list ``('a', 'b')``; ``{value:table:path}`` — a literal.

  A row fails where ``when`` holds and ``require`` is false; a missing value makes neither true
  (the required-ness of an item is its own rule).
* ``code_valid_for_year`` (row check): every code item whose code table has ``valid`` windows
  holds a code valid in the row's 年度.
* ``keyed_match`` (group): rows of the table (``where``) must have (``require``) or must not have
  (``forbid``) a row of ``other`` (``other_where``) with equal ``keys`` satisfying ``condition``
  (SQL over both rows; the other table's clashing columns get the suffix ``_o``).
* ``sum_equals`` (group): per key, the sum of ``value`` over the rows matching ``where`` equals
  ``other``.``other_column`` (no rows = 0).
* ``share_sum`` (group): per 物件 the 持分 add up to exactly 1 (fractions, exact) and exactly one
  row is the 代表.
* ``unique_active`` (group): among the rows current for their key (last 履歴 and ``active_when``),
  each of ``columns`` is unique.
* ``period_coverage`` (group): a row of this table is current on a 年度's 賦課期日 (start ≤ date <
  end) exactly when the other table has a row for that key and 年度.
"""
from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

import polars as pl

from kikan_hub.layouts.isl import Table, all_tables, load_code_table
from kikan_hub.layouts.types import polars_sum_type
from kikan_hub.validation.checks import GroupOutcome, RowCheck, group_check, row_check
from kikan_hub.validation.group_checks import _lazy

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
YEAR = "kazei_nendo"


# ---------------------------------------------------------------- placeholders (code-table data → SQL)

def _path(data: Any, path: str) -> Any:
    for part in re.split(r"[./]", path):
        if isinstance(data, list):
            data = data[int(part)]
        else:
            data = data[part]
    return data


def _extra(table_id: str, path: str) -> Any:
    ct = load_code_table(table_id)
    head, _, rest = path.partition(".")
    data = ct.extra[head.split("/")[0]]
    if "/" in head:  # kotei_ritsu/1 at the top level
        rest = head.split("/", 1)[1] + ("." + rest if rest else "")
    return _path(data, rest) if rest else data


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _case(column: str, mapping: dict, index: str | None = None) -> str:
    whens = []
    for k, v in mapping.items():
        if index is not None:
            v = _path(v, index)
        whens.append(f"WHEN {_lit(str(k))} THEN {_lit(v)}")
    return f"(CASE CAST({column} AS VARCHAR) {' '.join(whens)} END)" if whens else "NULL"


def _rate_windows(windows: list[dict]) -> str:
    whens = []
    for w in windows:
        conds = []
        if w.get("from") is not None:
            conds.append(f"{YEAR} >= {int(w['from'])}")
        if w.get("to") is not None:
            conds.append(f"{YEAR} <= {int(w['to'])}")
        whens.append(f"WHEN {' AND '.join(conds) or 'TRUE'} THEN {int(w['rate'])}")
    return f"(CASE {' '.join(whens)} END)"


def expand(sql: str, table: Table) -> str:
    """Replace the placeholders of a rule's SQL with values from the code tables."""
    def one(m: re.Match) -> str:
        body = m.group(1)
        kind, _, rest = body.partition(":")
        if kind == "rate":
            ct_id, _, code = rest.partition(":")
            rates = load_code_table(ct_id).extra["standard_rate"]
            if code.startswith("@"):
                col = code[1:]
                whens = [f"WHEN CAST({col} AS VARCHAR) = {_lit(str(c))} THEN {_rate_windows(ws)}" for c, ws in rates.items()]
                return f"(CASE {' '.join(whens)} END)"
            return _rate_windows(rates[code])
        if kind == "list":
            ct_id, _, path = rest.partition(":")
            return "(" + ", ".join(_lit(str(v)) for v in _extra(ct_id, path)) + ")"
        if kind == "value":
            ct_id, _, path = rest.partition(":")
            return _lit(_extra(ct_id, path))
        col, _, path = body.partition(":")
        if "@" in col:
            col, ct_id = col.split("@", 1)
        else:
            ct_id = table.item(col).code or ""
        head, _, index = path.partition("/")
        return _case(col, _extra(ct_id, head), index or None)
    return PLACEHOLDER.sub(one, sql)


def sql(text: str, table: Table) -> pl.Expr:
    return pl.sql_expr(expand(text, table))


def _columns_of(e: pl.Expr) -> set[str]:
    return set(e.meta.root_names())


# ---------------------------------------------------------------- row checks

@row_check("sql_row")
def _sql_row(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    require = sql(check["require"], table)
    when = sql(check["when"], table) if check.get("when") else pl.lit(True)
    if not (_columns_of(require) | _columns_of(when)) <= cols:
        return []          # reported as skipped: the rule's items are not in the input
    item = check.get("item") or sorted(_columns_of(require))[0]
    label = table.item(item).name if item in {i.id for i in table.items} else item
    fails = (when.fill_null(False) & ~require.fill_null(True)).fill_null(False)
    return [RowCheck(item, label, fails, check.get("message", "条件を満たしません"))]


def _valid_expr(col: str, windows: dict) -> pl.Expr:
    bad = pl.lit(False)
    year = pl.col(YEAR)
    for code, w in windows.items():
        out = pl.lit(False)
        if w.get("from") is not None:
            out = out | (year < int(w["from"]))
        if w.get("to") is not None:
            out = out | (year > int(w["to"]))
        bad = bad | ((pl.col(col).cast(pl.Utf8) == str(code)) & out)
    return bad.fill_null(False)


@row_check("code_valid_for_year")
def _code_valid_for_year(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    if YEAR not in cols:
        return []
    out = []
    for it in table.items:
        if it.code and it.id in cols:
            windows = load_code_table(it.code).extra.get("valid")
            if windows:
                out.append(RowCheck(it.id, it.name, _valid_expr(it.id, windows),
                                    f"この課税年度には使えないコードです（{load_code_table(it.code).name}の有効年度外）"))
    return out


# ---------------------------------------------------------------- group checks

def _names(lf: pl.LazyFrame) -> set[str]:
    return set(lf.collect_schema().names())


def _pairs(on: list) -> list[tuple[str, str]]:
    return [tuple(p) if isinstance(p, (list, tuple)) else (p, p) for p in on]  # type: ignore[misc]


def _rows_outcome(table: Table, rows: pl.DataFrame, total: int, reason: str, items: str) -> GroupOutcome:
    rows = rows.select("_row").unique().sort("_row").with_columns(_reason=pl.lit(reason), _items=pl.lit(items))
    return GroupOutcome(failures=pl.DataFrame(), failed=rows.height, total=total,
                        key_columns=list(table.primary_key), rows=rows)


@group_check("keyed_match")
def _keyed_match(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf, other = _lazy(frames, table.id), _lazy(frames, check["other"])
    if lf is None or other is None:
        return None
    other_table = all_tables()[check["other"]]
    pairs = _pairs(check["keys"])
    where = sql(check["where"], table) if check.get("where") else pl.lit(True)
    other_where = sql(check["other_where"], other_table) if check.get("other_where") else pl.lit(True)
    mine, theirs = _names(lf), _names(other)
    if not ({a for a, _ in pairs} | _columns_of(where)) <= mine or not ({b for _, b in pairs} | _columns_of(other_where)) <= theirs:
        return None
    total = lf.select(pl.len()).collect().item()
    left = lf.with_row_index("_row").filter(where.fill_null(False))
    right = other.filter(other_where.fill_null(False)).with_columns(
        [pl.col(b).cast(pl.Utf8).alias(f"_k{i}") for i, (_, b) in enumerate(pairs)])
    rename = {c: f"{c}_o" for c in theirs if c in mine}
    right = right.rename(rename)
    left = left.with_columns([pl.col(a).cast(pl.Utf8).alias(f"_k{i}") for i, (a, _) in enumerate(pairs)])
    keys = [f"_k{i}" for i in range(len(pairs))]
    joined = left.join(right, on=keys, how="inner")
    if check.get("condition"):
        cond = sql(check["condition"], table)
        if not _columns_of(cond) <= mine | {rename.get(c, c) for c in theirs}:
            return None
        joined = joined.filter(cond.fill_null(False))
    matched = joined.select("_row").unique()
    if check.get("mode", "require") == "require":
        bad = left.select("_row").join(matched, on="_row", how="anti").collect()
    else:
        bad = matched.collect()
    return _rows_outcome(table, bad, total, check.get("message", "対応する行の条件を満たしません"),
                         ",".join(a for a, _ in pairs))


def _columns(table: Table, name: str) -> list:
    return [c for c in table.columns if c.name == name]


@group_check("sum_equals")
def _sum_equals(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf, other = _lazy(frames, table.id), _lazy(frames, check["other"])
    if lf is None or other is None:
        return None
    keys, value, target = list(check["keys"]), check["value"], check["other_column"]
    where = sql(check["where"], table) if check.get("where") else pl.lit(True)
    if not (set(keys) | {value} | _columns_of(where)) <= _names(lf) or not (set(keys) | {target}) <= _names(other):
        return None
    # amounts are summed and compared exactly (Decimal), never through a float
    exact = polars_sum_type(*_columns(table, value), *_columns(all_tables()[check["other"]], target))
    sums = (lf.filter(where.fill_null(False)).group_by(keys).agg(_sum=pl.col(value).cast(exact).sum())
            .with_columns([pl.col(k).cast(pl.Utf8) for k in keys]))
    goal = other.select([pl.col(k).cast(pl.Utf8) for k in keys] + [pl.col(target).cast(exact).alias("_goal")])
    cmp = (goal.join(sums, on=keys, how="full", coalesce=True)
           .with_columns(pl.col("_sum").cast(exact).fill_null(0), pl.col("_goal").fill_null(0))
           .collect())
    bad = cmp.filter(pl.col("_sum") != pl.col("_goal"))
    failures = bad.select(*keys, pl.col("_sum").alias("_sum"), pl.col("_goal").alias("_expected"),
                          pl.format(check.get("message", "合計 {} が {} と一致しません"), pl.col("_sum"), pl.col("_goal"))
                          .alias("_reason"))
    return GroupOutcome(failures=failures, failed=failures.height, total=cmp.height, key_columns=keys)


@group_check("share_sum")
def _share_sum(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf = _lazy(frames, table.id)
    keys, num, den, rep = list(check["keys"]), check["numerator"], check["denominator"], check["representative"]
    if lf is None or not (set(keys) | {num, den, rep}) <= _names(lf):
        return None
    g = (lf.group_by(keys).agg(_num=pl.col(num).cast(pl.Int64), _den=pl.col(den).cast(pl.Int64),
                               _reps=pl.col(rep).cast(pl.Boolean).fill_null(False).sum())
         .collect())
    reasons = []
    for row in g.iter_rows(named=True):
        why = []
        if row["_reps"] != 1:
            why.append(f"代表者が{row['_reps']}人です")
        nums, dens = row["_num"], row["_den"]
        if any(n is None or d is None or d <= 0 or n <= 0 for n, d in zip(nums, dens)):
            why.append("持分が空か0以下です")
        elif (total := sum(Fraction(n, d) for n, d in zip(nums, dens))) != 1:   # exact: never a float
            why.append(f"持分の合計が {total} です（1 でない）")
        if why:
            reasons.append({**{k: row[k] for k in keys}, "_reason": "、".join(why)})
    failures = pl.DataFrame(reasons, schema={**{k: g.schema[k] for k in keys}, "_reason": pl.Utf8}) if reasons else \
        pl.DataFrame(schema={**{k: g.schema[k] for k in keys}, "_reason": pl.Utf8})
    return GroupOutcome(failures=failures, failed=failures.height, total=g.height, key_columns=keys)


@group_check("unique_active")
def _unique_active(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf = _lazy(frames, table.id)
    key, seq, columns = check["key"], check["seq"], list(check["columns"])
    active = sql(check["active_when"], table) if check.get("active_when") else pl.lit(True)
    if lf is None or not ({key, seq} | set(columns) | _columns_of(active)) <= _names(lf):
        return None
    rows = lf.with_row_index("_row")
    latest = rows.filter(pl.col(seq) == pl.col(seq).max().over(key)).filter(active.fill_null(False))
    total = latest.select(pl.len()).collect().item()
    bad = []
    for c in columns:
        v = pl.col(c).cast(pl.Utf8)
        dup = (latest.filter(v.is_not_null() & (v != ""))
               .filter(pl.col(key).n_unique().over(c) > 1).select("_row", pl.lit(c).alias("_c")).collect())
        bad.append(dup)
    allbad = pl.concat(bad)
    reason_by_row = (allbad.group_by("_row").agg(_cols=pl.col("_c").sort().str.join(","))
                     .with_columns(_reason=pl.format("有効な車両の間で {} が重複しています", pl.col("_cols")),
                                   _items=pl.col("_cols")).drop("_cols").sort("_row"))
    return GroupOutcome(failures=pl.DataFrame(), failed=reason_by_row.height, total=total,
                        key_columns=list(table.primary_key), rows=reason_by_row)


@lru_cache(maxsize=64)
def _date_of(year: int, month: int, day: int):
    import datetime as dt
    return dt.date(year, month, day)


@group_check("period_coverage")
def _period_coverage(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    """Failing rows are rows of the *other* table (taxed but not current) and units of this table
    (current but not taxed), reported as key failures: (key…, 年度, reason)."""
    lf, other = _lazy(frames, table.id), _lazy(frames, check["other"])
    if lf is None or other is None:
        return None
    keys, start, end = list(check["keys"]), check["start"], check["end"]
    month, day = check.get("date", [4, 1])
    if not (set(keys) | {start, end}) <= _names(lf) or not (set(keys) | {YEAR}) <= _names(other):
        return None
    taxed = other.select([pl.col(k).cast(pl.Utf8) for k in keys] + [pl.col(YEAR).cast(pl.Int64)]).unique().collect()
    years = sorted(taxed.get_column(YEAR).unique().to_list())
    spans = lf.select([pl.col(k).cast(pl.Utf8) for k in keys] + [pl.col(start), pl.col(end)]).collect()
    current = pl.concat([
        spans.filter((pl.col(start) <= _date_of(y, month, day))
                     & (pl.col(end).is_null() | (pl.col(end) > _date_of(y, month, day))))
        .select(*keys).unique().with_columns(pl.lit(y, pl.Int64).alias(YEAR))
        for y in years] or [pl.DataFrame(schema={**{k: pl.Utf8 for k in keys}, YEAR: pl.Int64})])
    missing = current.join(taxed, on=[*keys, YEAR], how="anti").with_columns(
        _reason=pl.format("{}年度の賦課期日に現にあるのに課税されていません", pl.col(YEAR)))
    extra = taxed.join(current, on=[*keys, YEAR], how="anti").with_columns(
        _reason=pl.format("{}年度の賦課期日に取得前か廃車後なのに課税されています", pl.col(YEAR)))
    failures = pl.concat([missing, extra]).sort([*keys, YEAR])
    return GroupOutcome(failures=failures, failed=failures.height, total=taxed.height + missing.height,
                        key_columns=[*keys, YEAR])
