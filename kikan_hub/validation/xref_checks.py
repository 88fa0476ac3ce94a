"""Generic cross-業務 checks (rules/gyomu_xref.yaml): existence, periods, ages, sums — as data.

Each check is a group check over lazy frames that reads only the columns it names, one hash
partition of the person's key at a time (group_checks.PARTITION_ROWS), so memory does not grow
with the store: a person's rows of every table meet in one partition. A table that is absent is
``skipped``; an empty table passes. Failing rows are returned by index (the engine fetches them
in full) or, for sums, as failing keys.

* ``exists_in``  — each value of ``columns`` (rows matching ``when``) is a key of one of
  ``targets`` ({table, column, where, latest}); ``latest`` judges only a key's last history row.
* ``no_overlap`` — per ``key``, the periods [start, end) of the rows (``when``) do not overlap.
* ``not_both_in_period`` — a row's period [start, end) meets no period of ``other`` for the
  same key.
* ``age_at``     — the person's age at each date of ``at`` lies in [min, max) (``windows`` by
  date, ``exceptions`` by an SQL condition); ``basis: date`` counts age by 年齢計算ニ関スル法律
  (reached the day before the birthday), ``basis: school_year`` by the age on 4月1日 of the
  date's fiscal year (学齢・児童手当: "達した日以後の最初の3月31日", "達した日の属する学年").
* ``sum_not_exceeding`` — per ``keys``, the sum of ``value`` ≤ the ``limit`` (latest or sum)
  plus the ``allowances`` (e.g. 過誤納 recorded as 還付).

Every SQL condition is polars SQL over the row (tax_checks.sql: code-table placeholders work).
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from kikan_hub.layouts.isl import Table, all_tables
from kikan_hub.layouts.types import polars_sum_type
from kikan_hub.validation.checks import GroupOutcome, group_check
from kikan_hub.validation.group_checks import FAR, _height, _in_part, _lazy, _names, _partitions, _read
from kikan_hub.validation.tax_checks import _columns_of, sql


def _keys(v) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def _cond(text: str | None, table: Table) -> pl.Expr:
    return sql(text, table).fill_null(False) if text else pl.lit(True)


def _has(lf: pl.LazyFrame, cols) -> bool:
    return set(cols) <= set(_names(lf))


def _in_all(cols: list[str], p: int, parts: int) -> pl.Expr:
    """Rows of partition p (the first key column decides: a person's rows meet)."""
    return pl.col(cols[0]).is_not_null() & _in_part(cols[0], p, parts)


def _by_rows(table: Table, found: list[pl.DataFrame], total: int, items: str) -> GroupOutcome:
    rows = (pl.concat(found, how="vertical_relaxed") if found else pl.DataFrame(schema={"_row": pl.UInt32, "_reason": pl.Utf8}))
    rows = (rows.sort("_row").group_by("_row", maintain_order=True).agg(pl.col("_reason").unique(maintain_order=True).str.join("、"))
            .with_columns(_items=pl.lit(items)))
    return GroupOutcome(failures=pl.DataFrame(), failed=rows.height, total=total,
                        key_columns=list(table.primary_key), rows=rows)


def _text(cols: list[str]) -> list[pl.Expr]:
    return [pl.col(c).cast(pl.Utf8) for c in cols]


# ---------------------------------------------------------------- exists_in

def _target_keys(frames: dict, target: dict, p: int, parts: int) -> pl.DataFrame | None:
    lf = _lazy(frames, target["table"])
    col = target.get("column", "atena_no")
    tt = all_tables()[target["table"]]
    where = _cond(target.get("where"), tt)
    latest = target.get("latest")
    if lf is None or not _has(lf, {col} | _columns_of(where) | ({latest} if latest else set())):
        return None
    n = _height(lf)
    key = pl.col(col).cast(pl.Utf8).alias("_v")
    if not latest:
        return _read(lf, [key], pl.col(col).is_not_null() & where & _in_part(col, p, parts), n).unique()
    rows = _read(lf, [key, pl.col(latest).alias("_seq"), where.alias("_ok")], pl.col(col).is_not_null() & _in_part(col, p, parts), n)
    return (rows.sort("_v", "_seq").group_by("_v", maintain_order=True).agg(pl.col("_ok").last())
            .filter(pl.col("_ok")).select("_v"))


@group_check("exists_in")
def _exists_in(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf = _lazy(frames, table.id)
    if lf is None:
        return None
    when = _cond(check.get("when"), table)
    cols = [c for c in check.get("columns", ["atena_no"]) if c in _names(lf)]
    if not cols or not _has(lf, _columns_of(when)):
        return None
    n = _height(lf)
    targets = [t for t in check["targets"] if t["table"] in frames]
    if not targets:
        return None
    parts = _partitions(max([n, *(_height(_lazy(frames, t["table"])) for t in targets)]))
    message = check.get("message", "{item}が{targets}にありません")
    names = "・".join(all_tables()[t["table"]].name for t in targets)
    found = []
    for p in range(parts):
        known_parts = [k for k in (_target_keys(frames, t, p, parts) for t in targets) if k is not None]
        if not known_parts:
            return None
        known = pl.concat(known_parts).unique()
        for c in cols:
            v = pl.col(c).cast(pl.Utf8)
            values = _read(lf, [v.alias("_v")], v.is_not_null() & (v != "") & when & _in_part(c, p, parts), n, row_index=True)
            found.append(values.join(known, on="_v", how="anti")
                         .select("_row", pl.lit(message.format(item=table.item(c).name, targets=names)).alias("_reason")))
    return _by_rows(table, found, n, ",".join(cols))


# ---------------------------------------------------------------- periods

def _periods(lf: pl.LazyFrame, keys: list[str], start: str, end: str, where: pl.Expr, n: int, p: int, parts: int,
             row_index: bool) -> pl.DataFrame:
    """(_row,) keys as text, _s, _e (an open end is FAR) of the rows with a start, in partition p."""
    return _read(lf, [*_text(keys), pl.col(start).alias("_s"), pl.col(end).fill_null(FAR).alias("_e")],
                 _in_all(keys, p, parts) & pl.col(start).is_not_null() & where, n, row_index=row_index)


@group_check("no_overlap")
def _no_overlap(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    """Sorted by key and start, a row overlaps an earlier one when it starts before the latest end so far."""
    lf = _lazy(frames, table.id)
    keys, start, end = _keys(check["key"]), check["start"], check["end"]
    where = _cond(check.get("when"), table)
    if lf is None or not _has(lf, {*keys, start, end} | _columns_of(where)):
        return None
    n = _height(lf)
    parts = _partitions(n)
    found = []
    for p in range(parts):
        rows = (_periods(lf, keys, start, end, where, n, p, parts, True)
                .filter(pl.col("_e") > pl.col("_s"))        # an empty period (lost the day it began) holds nothing
                .sort([*keys, "_s", "_row"]))
        prev_end = pl.col("_e").cum_max().shift(1).over(keys)
        bad = rows.with_columns(_pe=prev_end).filter(pl.col("_s") < pl.col("_pe"))
        found.append(bad.select("_row", pl.format("期間（{}〜）が同じ{}の別の期間（〜{}）と重なります", pl.col("_s"),
                                                 pl.lit(table.item(keys[0]).name),
                                                 pl.col("_pe").cast(pl.Utf8).replace({str(FAR): "継続中"})).alias("_reason")))
    return _by_rows(table, found, n, ",".join([start, end]))


@group_check("not_both_in_period")
def _not_both(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf, other = _lazy(frames, table.id), _lazy(frames, check["other"])
    if lf is None or other is None:
        return None
    ot = all_tables()[check["other"]]
    keys, start, end = _keys(check["key"]), check["start"], check["end"]
    okeys = _keys(check.get("other_key", keys))
    ostart, oend = check.get("other_start", start), check.get("other_end", end)
    where, owhere = _cond(check.get("when"), table), _cond(check.get("other_when"), ot)
    if not _has(lf, {*keys, start, end} | _columns_of(where)) or not _has(other, {*okeys, ostart, oend} | _columns_of(owhere)):
        return None
    n, m = _height(lf), _height(other)
    parts = _partitions(max(n, m))
    found = []
    for p in range(parts):
        mine = _periods(lf, keys, start, end, where, n, p, parts, True).filter(pl.col("_e") > pl.col("_s"))
        theirs = (_periods(other, okeys, ostart, oend, owhere, m, p, parts, False)
                  .rename({**dict(zip(okeys, keys)), "_s": "_os", "_e": "_oe"}).filter(pl.col("_oe") > pl.col("_os")))
        bad = (mine.join(theirs, on=keys, how="inner")
               .filter((pl.col("_s") < pl.col("_oe")) & (pl.col("_os") < pl.col("_e"))))
        found.append(bad.select("_row", pl.format("{}の期間（{}〜{}）と重なります", pl.lit(ot.name), pl.col("_os"),
                                                 pl.col("_oe").cast(pl.Utf8).replace({str(FAR): "継続中"})).alias("_reason")))
    return _by_rows(table, found, n, ",".join([start, end]))


# ---------------------------------------------------------------- ages

def _as_date(dtype: pl.DataType, col: str, edge: str) -> pl.Expr:
    """By the column's physical type (layouts/types.py made it): a date as is; a 年度 (an integer) as
    its 4月1日; YYYYMM text as the month's first (edge=start) or last day."""
    if dtype == pl.Date:
        return pl.col(col)
    if dtype.is_integer():
        return pl.date(pl.col(col), 4, 1)
    s = pl.col(col).cast(pl.Utf8)
    first = pl.date(s.str.slice(0, 4).cast(pl.Int32, strict=False), s.str.slice(4, 2).cast(pl.Int8, strict=False), 1)
    return first.dt.month_end() if edge == "end" else first


def _age(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Completed years on date `on` (the birthday counted that day)."""
    before = (on.dt.month().cast(pl.Int32) * 100 + on.dt.day()) < (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day())
    return on.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def _age_on(birth: pl.Expr, at: pl.Expr, basis: str) -> pl.Expr:
    if basis == "school_year":   # age on 4月1日 of the fiscal year of `at`
        fy = at.dt.year().cast(pl.Int32) - (at.dt.month() < 4).cast(pl.Int32)
        return _age(birth, pl.date(fy, 4, 1))
    # 年齢計算ニ関スル法律: an age is reached on the day before the birthday
    return _age(birth, at + pl.duration(days=1))


def _bounds(check: dict, table: Table, at: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(min, max) for the row: windows by the checked date, then exceptions by condition (last wins)."""
    lo = pl.lit(check.get("min"), pl.Int32)
    hi = pl.lit(check.get("max"), pl.Int32)
    for w in check.get("windows") or []:
        inside = pl.lit(True)
        if w.get("from"):
            inside = inside & (at >= pl.lit(dt.date.fromisoformat(str(w["from"]))))
        if w.get("to"):
            inside = inside & (at <= pl.lit(dt.date.fromisoformat(str(w["to"]))))
        if "min" in w:
            lo = pl.when(inside).then(pl.lit(w["min"], pl.Int32)).otherwise(lo)
        if "max" in w:
            hi = pl.when(inside).then(pl.lit(w["max"], pl.Int32)).otherwise(hi)
    for e in check.get("exceptions") or []:
        cond = _cond(e["when"], table)
        if "min" in e:
            lo = pl.when(cond).then(pl.lit(e["min"], pl.Int32)).otherwise(lo)
        if "max" in e:
            hi = pl.when(cond).then(pl.lit(e["max"], pl.Int32)).otherwise(hi)
    return lo, hi


def _births(frames: dict, spec: dict, p: int, parts: int) -> pl.DataFrame | None:
    """Key → birth date from the first source table that knows the key (its last row with one)."""
    found = []
    for tid in spec["tables"]:
        lf = _lazy(frames, tid)
        col, key = spec.get("column", "birth_date"), spec.get("source_key", "atena_no")
        if lf is None or not _has(lf, {col, key}):
            continue
        seq = spec.get("latest", "rireki_no")
        seq_e = pl.col(seq) if seq in _names(lf) else pl.lit(0)
        rows = _read(lf, [pl.col(key).cast(pl.Utf8).alias("_k"), pl.col(col).alias("_birth"), seq_e.alias("_seq")],
                     pl.col(key).is_not_null() & pl.col(col).is_not_null() & _in_part(key, p, parts), _height(lf))
        found.append(rows.sort("_k", "_seq", maintain_order=True).group_by("_k", maintain_order=True)
                     .agg(pl.col("_birth").last()).with_columns(_src=pl.lit(len(found))))
    if not found:
        return None
    return pl.concat(found).sort("_src").unique("_k", keep="first", maintain_order=True).drop("_src")


@group_check("age_at")
def _age_at(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf = _lazy(frames, table.id)
    if lf is None:
        return None
    at_cols = _keys(check["at"])
    basis = check.get("basis", "date")
    when = _cond(check.get("when"), table)
    exc_cols = set().union(*[_columns_of(_cond(e["when"], table)) for e in check.get("exceptions") or []])
    own_birth = check.get("birth")
    key = check.get("key", "atena_no")
    need = set(at_cols) | _columns_of(when) | exc_cols | ({own_birth} if own_birth else {key})
    if not _has(lf, need):
        return None
    n = _height(lf)
    spec = check.get("birth_from") or {}
    parts = _partitions(max([n, *(_height(_lazy(frames, t)) for t in spec.get("tables", []) if t in frames)]))
    part_col = table.primary_key[0]     # a birth date on the row: any key splits the table
    # an upper bound binds at the end of a span (YYYYMM: the month's last day), a lower one at its start
    edge = check.get("edge", "end")
    found, looked = [], False
    for p in range(parts):
        if own_birth:
            rows = _read(lf, [pl.col(own_birth).alias("_birth"), *[pl.col(c) for c in need - {own_birth}]],
                         pl.col(own_birth).is_not_null() & when & _in_part(part_col, p, parts), n, row_index=True)
        else:
            births = _births(frames, spec, p, parts)
            if births is None:
                return None
            rows = (_read(lf, [pl.col(key).cast(pl.Utf8).alias("_k"), *[pl.col(c) for c in need - {key}]],
                          pl.col(key).is_not_null() & when & _in_part(key, p, parts), n, row_index=True)
                    .join(births, on="_k", how="inner"))
        looked = True
        for c in at_cols:
            at = _as_date(lf.collect_schema()[c], c, edge)
            lo, hi = _bounds(check, table, at)
            age = _age_on(pl.col("_birth"), at, basis)
            bad = rows.with_columns(_at=at, _age=age, _lo=lo, _hi=hi).filter(
                pl.col("_at").is_not_null() & ((pl.col("_age") < pl.col("_lo")) | (pl.col("_age") >= pl.col("_hi"))).fill_null(False))
            what = "年度初日（4月1日）の年齢" if basis == "school_year" else "年齢"
            found.append(bad.select("_row", pl.format(
                "{}（{}）時点の{}が{}歳（{}歳以上{}歳未満であるべき）", pl.lit(table.item(c).name), pl.col("_at"), pl.lit(what),
                pl.col("_age"), pl.col("_lo").cast(pl.Utf8).fill_null("—"), pl.col("_hi").cast(pl.Utf8).fill_null("—")).alias("_reason")))
    if not looked:
        return None
    return _by_rows(table, found, n, ",".join(at_cols))


# ---------------------------------------------------------------- sums

@group_check("sum_not_exceeding")
def _sum_not_exceeding(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    lf = _lazy(frames, table.id)
    limit = check["limit"]
    other = _lazy(frames, limit["table"])
    if lf is None or other is None:
        return None
    lt = all_tables()[limit["table"]]
    keys, value = _keys(check["keys"]), check["value"]
    lkeys = _keys(limit.get("keys", keys))
    where, lwhere = _cond(check.get("where"), table), _cond(limit.get("where"), lt)
    seq = limit.get("latest")
    if not _has(lf, {*keys, value} | _columns_of(where)) or not _has(other, {*lkeys, limit["value"]} | ({seq} if seq else set())):
        return None
    cols = [c for c in table.columns if c.name == value] + [c for c in lt.columns if c.name == limit["value"]]
    exact = polars_sum_type(*cols)            # amounts compared exactly (Decimal), never through a float
    allow = [a for a in check.get("allowances") or [] if a["table"] in frames]
    n, m = _height(lf), _height(other)
    parts = _partitions(max(n, m))
    found, total = [], 0
    for p in range(parts):
        carry = [c for c in check.get("carry", []) if c in _names(lf)]   # e.g. the 宛名番号 of the unit
        sums = (_read(lf, [*_text(keys), pl.col(value).cast(exact).alias("_v"), *[pl.col(c) for c in carry]],
                      _in_all(keys, p, parts) & where, n)
                .group_by(keys).agg(pl.col("_v").sum().alias("_sum"), *[pl.col(c).drop_nulls().first() for c in carry]))
        lim = _read(other, [*_text(lkeys), pl.col(limit["value"]).cast(exact).alias("_v"),
                            *([pl.col(seq).alias("_seq")] if seq else [])], _in_all(lkeys, p, parts) & lwhere, m).rename(dict(zip(lkeys, keys)))
        lim = (lim.sort([*keys, "_seq"]).group_by(keys).agg(_limit=pl.col("_v").last()) if seq
               else lim.group_by(keys).agg(_limit=pl.col("_v").sum()))
        g = sums.join(lim, on=keys, how="left").with_columns(pl.col("_limit").fill_null(0).cast(exact), _allow=pl.lit(0).cast(exact))
        for a in allow:
            at_ = all_tables()[a["table"]]
            alf = _lazy(frames, a["table"])
            akeys = _keys(a.get("keys", keys))
            if not _has(alf, {*akeys, a["value"]}):
                continue
            extra = (_read(alf, [*_text(akeys), pl.col(a["value"]).cast(exact).alias("_v")],
                           _in_all(akeys, p, parts) & _cond(a.get("where"), at_), _height(alf))
                     .rename(dict(zip(akeys, keys))).group_by(keys).agg(_a=pl.col("_v").sum()))
            g = g.join(extra, on=keys, how="left").with_columns(_allow=pl.col("_allow") + pl.col("_a").fill_null(0)).drop("_a")
        total += g.height
        found.append(g.filter(pl.col("_sum") > pl.col("_limit") + pl.col("_allow")).select(
            *keys, *carry, pl.col("_sum"), pl.col("_limit"), pl.col("_allow"),
            pl.format(check.get("message", "合計 {} が上限 {}（＋認められた額 {}）を超えます"),
                      pl.col("_sum"), pl.col("_limit"), pl.col("_allow")).alias("_reason")))
    failures = pl.concat(found, how="vertical_relaxed").sort(keys)
    return GroupOutcome(failures=failures, failed=failures.height, total=total, key_columns=keys)
