"""Group checks (history numbering, 世帯主 per household, cross-table references) in bounded memory.

A group check needs every row of a unit (a 宛名, a household) together. It reads only its key
columns, slice by slice, reduced on read to integer codes and flags; and a table larger than
PARTITION_ROWS is split by a hash of the unit's key into partitions checked one at a time, so
the memory a check holds does not grow with the table: 10 million rows are checked as ten
partitions of about a million. Counts are exact either way (a unit lies in one partition).

The 世帯主 check needs two keys: a row's end is the next row of the same 宛名, while the count
runs per household. It partitions by 宛名 to find the rows' spans, writes them to temporary
Parquet files by household partition, and sweeps each household partition in turn.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl

from kikan_hub.layouts.isl import Table
from kikan_hub.validation.checks import GroupOutcome, group_check

COMPACT_ROWS = 262_144       # rows per slice when a group check reads its key columns
PARTITION_ROWS = 1_000_000   # a check holds the keys of about this many rows at once
FAR = dt.date(9999, 12, 31)  # the end of a row that no later row supersedes


def _names(lf: pl.LazyFrame | pl.DataFrame) -> list[str]:
    return lf.collect_schema().names() if isinstance(lf, pl.LazyFrame) else lf.columns


def _lazy(frames: dict, table_id: str) -> pl.LazyFrame | None:
    f = frames.get(table_id)
    return f.lazy() if isinstance(f, pl.DataFrame) else f


def _height(lf: pl.LazyFrame) -> int:
    return lf.select(pl.len()).collect().item()


def _partitions(rows: int) -> int:
    return max(1, -(-rows // PARTITION_ROWS))


def _part_of(col: str, parts: int) -> pl.Expr:
    """The partition a key's unit belongs to: equal keys (as text) always meet in one partition."""
    if parts == 1:
        return pl.lit(0, pl.UInt64)
    return pl.col(col).cast(pl.Utf8).hash(seed=0) % parts


def _in_part(col: str, p: int, parts: int) -> pl.Expr:
    return pl.lit(True) if parts == 1 else _part_of(col, parts) == p


def _read(lf: pl.LazyFrame, exprs: list[pl.Expr], where: pl.Expr, n: int, row_index: bool = False) -> pl.DataFrame:
    """`exprs` of the rows matching `where`, read slice by slice (the filter applies after each
    slice: a slice of a filtered scan would re-read the file from its start every time)."""
    parts = []
    for off in range(0, max(n, 1), COMPACT_ROWS):
        sl = lf.slice(off, COMPACT_ROWS)
        if row_index:
            sl = sl.with_row_index("_row", offset=off)
        parts.append(sl.filter(where).select(*([pl.col("_row")] if row_index else []), *exprs).collect())
    return pl.concat(parts, rechunk=False)


def _compact(lf: pl.LazyFrame, keys: list[str], exprs: list[pl.Expr], where: pl.Expr, n: int
             ) -> tuple[pl.DataFrame, bool]:
    """Read `keys` and `exprs` of the rows matching `where` into one compact frame.

    Key columns of digits (宛名番号, 世帯番号: the usual case) become Int64 codes "1"+digits —
    one-to-one, leading zeros kept, decoded by ``_decode`` — so sorting and grouping millions
    of keys costs 8 bytes a key. If any key is not 1–18 ASCII digits the keys stay strings.
    Returns (frame, encoded)."""
    raw = [pl.col(k).cast(pl.Utf8) for k in keys]
    digits = [r.str.contains(r"^[0-9]{1,18}$") for r in raw]
    enc = [pl.when(d).then(pl.concat_str(pl.lit("1"), r)).cast(pl.Int64, strict=False).alias(k)
           for k, r, d in zip(keys, raw, digits)]
    bad = pl.any_horizontal([r.is_not_null() & ~d for r, d in zip(raw, digits)]).alias("_bad")
    parts = []
    for off in range(0, max(n, 1), COMPACT_ROWS):
        part = lf.slice(off, COMPACT_ROWS).filter(where).select(*enc, *exprs, bad).collect()
        if part.get_column("_bad").any():
            return _read(lf, [pl.col(k) for k in keys] + exprs, where, n), False
        parts.append(part.drop("_bad"))
    return pl.concat(parts, rechunk=False), True


def _sort_by(df: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    """`df` sorted by (a, b) — as read when it already is (staged rows usually are: no copy)."""
    prev_a, prev_b = pl.col(a).shift(1), pl.col(b).shift(1)
    in_order = ((pl.col(a) > prev_a) | ((pl.col(a) == prev_a) & (pl.col(b) >= prev_b))).fill_null(False)
    if df.height <= 1 or df.select(in_order.slice(1).all()).item():
        return df
    return df.sort(a, b)


def _decode(col: str, encoded: bool) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.slice(1).alias(col) if encoded else pl.col(col)


def _as_text(df: pl.DataFrame, cols: list[str], encoded: bool) -> pl.DataFrame:
    return df.with_columns(_decode(c, encoded) for c in cols) if encoded else df


@group_check("history_consecutive")
def _history(frames: dict[str, pl.LazyFrame], table: Table, check: dict) -> GroupOutcome | None:
    """履歴番号 1..n per key: sorted by (key, 履歴番号), the i-th number of a key must be i."""
    lf = _lazy(frames, table.id)
    key, seq = check["key"], check["seq"]
    if lf is None or key not in _names(lf) or seq not in _names(lf):
        return None
    n = _height(lf)
    parts = _partitions(n)
    first = pl.col(key).ne_missing(pl.col(key).shift(1))
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    total = 0
    found = []
    for p in range(parts):
        df, enc = _compact(lf, [key], [pl.col(seq)], pl.col(key).is_not_null() & _in_part(key, p, parts), n)
        marks = (_sort_by(df, key, seq)
                 .select(key, first.alias("_first"),
                         (pl.col(seq) == (pos - pl.when(first).then(pos).forward_fill() + 1)).fill_null(False).alias("_ok")))
        total += int(marks.get_column("_first").sum())
        bad_keys = marks.filter(~pl.col("_ok")).select(pl.col(key).unique())
        del marks
        if bad_keys.height:
            g = (df.lazy().join(bad_keys.lazy(), on=key, how="semi")
                 .group_by(key).agg(n=pl.len(), seqs=pl.col(seq).sort().cast(pl.Utf8).str.join(",")).collect())
            found.append(_as_text(g, [key], enc))
        del df
    if found:
        g = pl.concat(found, how="vertical_relaxed")
    else:
        g = pl.DataFrame({key: pl.Series([], dtype=pl.Utf8), "n": pl.Series([], dtype=pl.UInt32),
                          "seqs": pl.Series([], dtype=pl.Utf8)})
    failures = (g.select(key, pl.col("n").alias("_rows"), pl.col("seqs").alias("_seqs"),
                         pl.format("履歴番号 {} （{}件）が 1..{} の連番でない", pl.col("seqs"), pl.col("n"), pl.col("n"))
                         .alias("_reason")).sort(key))
    return GroupOutcome(failures=failures, failed=failures.height, total=total, key_columns=[key])


def _member_spans(lf: pl.LazyFrame, cols: set[str], head: str, where: pl.Expr, n: int, parts: int,
                  active_states: tuple[str, ...] = ("1",)) -> tuple[pl.DataFrame, pl.DataFrame, bool]:
    """Each history row as a span of membership: (setai_no, atena_no, _from, _to, _active, _head, _sp).

    A history row of a 宛名 is current from its 異動日 until the next row's 異動日 (履歴番号
    order). A row whose 住民状態 is not one of `active_states` (住民, and 転出予定: a 転出予定者 is
    still a 現存者 until the planned date, j1080, j50) or that has a 消除事由 is a 除票: the person
    is no longer a member from that date. Also returns the households seen (setai_no, _sp), with
    or without dates, and whether the keys are integer-coded."""
    eff = pl.col("idou_date") if "idou_date" in cols else pl.lit(None, pl.Date)
    if "shori_date" in cols:
        eff = pl.coalesce(eff, pl.col("shori_date"))
    active = pl.lit(True)
    if "jumin_jotai" in cols:
        active = active & pl.col("jumin_jotai").cast(pl.Utf8).fill_null("1").is_in(list(active_states))
    if "shojo_jiyu" in cols:
        active = active & (pl.col("shojo_jiyu").is_null() | (pl.col("shojo_jiyu").cast(pl.Utf8) == ""))
    base, enc = _compact(lf, ["atena_no", "setai_no"],
                         [pl.col("rireki_no"), eff.alias("_from"), active.alias("_active"),
                          # 世帯主 and current: counts one head (a null 続柄 counts none)
                          (active & (pl.col("zokugara").cast(pl.Utf8) == head)).fill_null(False).alias("_head"),
                          _part_of("setai_no", parts).alias("_sp")], where, n)
    households = base.select("setai_no", "_sp").drop_nulls("setai_no").unique()
    spans = (_sort_by(base.filter(pl.col("setai_no").is_not_null() & pl.col("_from").is_not_null()), "atena_no", "rireki_no")
             .lazy()
             .with_columns(_to=pl.when(pl.col("atena_no").shift(-1) == pl.col("atena_no"))
                           .then(pl.col("_from").shift(-1)).otherwise(pl.lit(FAR)))
             .filter(pl.col("_to") > pl.col("_from"))   # a row superseded on its own day never stands
             .drop("rireki_no")
             .collect())
    return spans, households, enc


def _sweep(rows: pl.DataFrame, enc: bool, fails: pl.Expr) -> pl.DataFrame:
    """Points where a household's current members and 世帯主 (`_members`, `_heads`) make `fails` true.

    +1 at a current row's start, −1 at its end, per household (除票 rows add 0 but still mark a
    date where the household changes); sorted by household and date, the running sums after a
    date's last event are the members and 世帯主 current at that date."""
    dm = pl.col("_active").cast(pl.Int8)
    dh = pl.col("_head").cast(pl.Int8)
    ended = rows.filter(pl.col("_to") < pl.lit(FAR))
    events = pl.concat([
        rows.select("setai_no", pl.col("_from").alias("_at"), dm.alias("_dm"), dh.alias("_dh")),
        ended.select("setai_no", pl.col("_to").alias("_at"), (-dm).alias("_dm"), (-dh).alias("_dh")),
    ]).sort("setai_no", "_at")
    del ended
    first = pl.col("setai_no").ne_missing(pl.col("setai_no").shift(1))
    last = pl.col("setai_no").ne_missing(pl.col("setai_no").shift(-1)) | pl.col("_at").ne_missing(pl.col("_at").shift(-1))
    cm, ch = pl.col("_dm").cast(pl.Int64).cum_sum(), pl.col("_dh").cast(pl.Int64).cum_sum()
    bad_points = (events.lazy()
                  .with_columns(_cm=cm, _ch=ch, _first=first, _last=last)
                  # running sums within a household = global running sum − the sum before the household's first event
                  .with_columns(_bm=pl.when(pl.col("_first")).then(pl.col("_cm") - pl.col("_dm")).forward_fill(),
                                _bh=pl.when(pl.col("_first")).then(pl.col("_ch") - pl.col("_dh")).forward_fill())
                  .filter(pl.col("_last"))
                  .select("setai_no", "_at", (pl.col("_cm") - pl.col("_bm")).alias("_members"),
                          (pl.col("_ch") - pl.col("_bh")).alias("_heads"))
                  .filter((pl.col("_members") > 0) & fails)
                  .collect())
    del events
    if bad_points.height:   # name the 世帯主 current at each failing point (few rows: a join is fine)
        heads = (bad_points.lazy().join(rows.lazy().filter(pl.col("_head")).select("setai_no", "atena_no", "_from", "_to"),
                                        on="setai_no")
                 .filter((pl.col("_from") <= pl.col("_at")) & (pl.col("_at") < pl.col("_to")))
                 .group_by("setai_no", "_at").agg(_head_atena=_decode("atena_no", enc).sort().str.join(",")).collect())
        bad_points = bad_points.join(heads, on=["setai_no", "_at"], how="left")
    else:
        bad_points = bad_points.with_columns(_head_atena=pl.lit(None, pl.Utf8))
    return _as_text(bad_points, ["setai_no"], enc)


def _same_coding(frames: list[pl.DataFrame], encs: list[bool], cols: list[str]) -> tuple[pl.DataFrame, bool]:
    """One frame from partition pieces; keys stay integer-coded only if every piece was."""
    if all(encs):
        return pl.concat(frames, rechunk=False), True
    return pl.concat([_as_text(f, cols, e) for f, e in zip(frames, encs)], rechunk=False), False


# What fails, per the check's `mode` (j100: 世帯主未設定を許容; j490: a household left with one member
# gets that member as 世帯主, one left with two or more waits for a 世帯主変更):
#   conflict — two or more 世帯主, or a one-person household without one (an error)
#   absent   — no 世帯主 among two or more members (allowed by j100/j490: a warning to follow up)
SETAINUSHI_MODES = {
    "conflict": (pl.col("_heads") >= 2) | ((pl.col("_members") == 1) & (pl.col("_heads") == 0)),
    "absent": (pl.col("_members") >= 2) & (pl.col("_heads") == 0),
}


@group_check("setainushi_unique")
def _setainushi(frames: dict[str, pl.LazyFrame], table: Table, check: dict) -> GroupOutcome | None:
    """At each date where the household changes, its current members and 世帯主 are checked by the
    check's ``mode`` (SETAINUSHI_MODES); a household with no member no longer exists."""
    lf = _lazy(frames, table.id)
    need = {"atena_no", "rireki_no", "setai_no", "zokugara"}
    if lf is None or not need <= set(_names(lf)):
        return None
    head = str(check.get("head_code", "01"))
    fails = SETAINUSHI_MODES[str(check.get("mode", "conflict"))]
    active_states = tuple(str(v) for v in check.get("active_states", ["1"]))
    cols = set(_names(lf))
    n = _height(lf)
    parts = _partitions(n)
    if parts == 1:
        spans, households, enc = _member_spans(lf, cols, head, pl.lit(True), n, 1, active_states)
        total = households.height
        found = [_sweep(spans.drop("_sp"), enc, fails)]
    else:
        total, found = 0, []
        with tempfile.TemporaryDirectory(prefix="kikan-setainushi-") as tmp:
            d = Path(tmp)
            encs = []
            for p in range(parts):      # spans need every row of a 宛名: partition by 宛名
                spans, households, enc = _member_spans(lf, cols, head, _in_part("atena_no", p, parts), n, parts,
                                                           active_states)
                encs.append(enc)
                for q in range(parts):  # ... and go to the partition of their household
                    spans.filter(pl.col("_sp") == q).drop("_sp").write_parquet(d / f"s{q}_{p}.parquet")
                    households.filter(pl.col("_sp") == q).drop("_sp").write_parquet(d / f"h{q}_{p}.parquet")
                del spans, households
            for q in range(parts):      # the count runs per household: one household partition at a time
                spans, enc = _same_coding([pl.read_parquet(d / f"s{q}_{p}.parquet") for p in range(parts)], encs,
                                          ["setai_no", "atena_no"])
                households, _ = _same_coding([pl.read_parquet(d / f"h{q}_{p}.parquet") for p in range(parts)], encs,
                                             ["setai_no"])
                total += households.unique().height
                found.append(_sweep(spans, enc, fails))
                del spans, households
    bad_points = pl.concat(found, how="vertical_relaxed").sort("setai_no", "_at")
    failures = bad_points.with_columns(
        _reason=pl.when(pl.col("_heads") == 0).then(pl.format("{} 時点で世帯主がいません（世帯員{}人）", pl.col("_at"), pl.col("_members")))
        .otherwise(pl.format("{} 時点で世帯主が{}人います", pl.col("_at"), pl.col("_heads"))))
    failed = failures.select(pl.col("setai_no").n_unique()).item() if failures.height else 0
    return GroupOutcome(failures=failures, failed=failed, total=total, key_columns=["setai_no"])


@group_check("atena_exists")
def _atena_exists(frames: dict[str, pl.LazyFrame], table: Table, check: dict) -> GroupOutcome | None:
    """Failing rows are returned by index (``rows``: _row, _reason, _items): the engine fetches them in full."""
    lf = _lazy(frames, table.id)
    sources = [s for s in check.get("sources", []) if s in frames]
    if lf is None or not sources:
        return None
    cols = [c for c in check.get("columns", ["atena_no"]) if c in _names(lf)]
    if not cols:
        return None
    n = _height(lf)
    source_rows = {s: _height(_lazy(frames, s)) for s in sources}
    parts = _partitions(max([n, *source_rows.values()]))
    reasons = []
    for p in range(parts):  # a value and the 宛名 it names hash to the same partition
        known = pl.concat([_read(_lazy(frames, s), [pl.col("atena_no").cast(pl.Utf8)],
                                 _in_part("atena_no", p, parts), source_rows[s]) for s in sources]).unique()
        for i, c in enumerate(cols):
            v = pl.col(c).cast(pl.Utf8)
            values = _read(lf, [v.alias("_v")], v.is_not_null() & (v != "") & _in_part(c, p, parts), n, row_index=True)
            reasons.append(values.join(known, left_on="_v", right_on="atena_no", how="anti")
                           .select("_row", pl.lit(i).alias("_ci"),
                                   pl.lit(f"{table.item(c).name}が宛名にありません").alias("_r")))
        del known
    rows = (pl.concat(reasons).sort("_row", "_ci")   # a row's reasons in the order of its columns
            .group_by("_row", maintain_order=True).agg(_reason=pl.col("_r").str.join("、"))
            .with_columns(_items=pl.lit(",".join(cols))))
    return GroupOutcome(failures=pl.DataFrame(), failed=rows.height, total=n,
                        key_columns=list(table.primary_key), rows=rows)
