"""The registered checks a rule's ``check: {kind: …}`` names, as vectorised polars code.

Two shapes:

* **row checks** return ``RowCheck`` objects — a polars expression that is True where a row
  fails, with the item and a Japanese message. The engine evaluates all row checks of a table
  in one ``select`` and the same expressions compile to pandera checks (schemas.py).
* **group checks** (history numbering, 世帯主 per household, cross-table references) take
  the tables as lazy frames (select only the columns you need: a Parquet input is scanned, so
  a projection reads just those columns) and return a ``GroupOutcome``: the failing units (with
  keys) or the failing rows by index, their count and the number of units looked at.

Every check treats a missing value as "not this rule's business" (required-ness is its own rule).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import polars as pl

from kikan_hub.layouts.isl import Item, Table, all_tables, load_code_table

IVS = r"[\x{E0100}-\x{E01EF}\x{FE00}-\x{FE0F}]"
KANA_RE = r"^[\x{30A0}-\x{30FF}\x{3000} \x{FF65}-\x{FF9F}]+$"


@dataclass(frozen=True)
class RowCheck:
    item: str          # item id (or a pseudo item such as birth_date)
    label: str         # Japanese item name
    fails: pl.Expr     # True where the row fails (nulls already resolved to False)
    message: str       # Japanese message
    # Optional exact test, evaluated only on the rows `fails` marks (then `fails` is a cheap superset).
    exact: pl.Expr | None = None

    @property
    def expr(self) -> pl.Expr:
        """The one exact expression (for pandera and anyone who wants no two-stage evaluation)."""
        return self.fails & self.exact if self.exact is not None else self.fails


@dataclass
class GroupOutcome:
    failures: pl.DataFrame     # one row per failing unit (or failing rows), with _reason
    failed: int                # failing units
    total: int                 # units looked at
    key_columns: list[str]
    # Failing rows of the checked table by index (_row + _reason …): the engine reads them in full
    # batch by batch, so a group check never holds a whole table (``failures`` then unused).
    rows: pl.DataFrame | None = None


ROW_CHECKS: dict[str, Callable] = {}
GROUP_CHECKS: dict[str, Callable] = {}


def row_check(kind: str):
    def deco(fn):
        ROW_CHECKS[kind] = fn
        return fn
    return deco


def group_check(kind: str):
    def deco(fn):
        GROUP_CHECKS[kind] = fn
        return fn
    return deco


# ---------------------------------------------------------------- helpers

def _present(df_cols: set[str], item: Item) -> pl.Expr:
    c = pl.col(item.id)
    if item.type == "wareki_date":
        lit = f"{item.id}_literal"
        e = c.is_not_null()
        if lit in df_cols:
            e = e | (pl.col(lit).is_not_null() & (pl.col(lit).cast(pl.Utf8) != ""))
        return e
    return c.is_not_null() & (c.cast(pl.Utf8) != "")


def _s(item_id: str) -> pl.Expr:
    return pl.col(item_id).cast(pl.Utf8)


def _f(e: pl.Expr) -> pl.Expr:
    return e.fill_null(False)


def m11_fails(col: str, length: int) -> pl.Expr:
    """True where a present value is not `length` digits with a correct M11 (weights 2–7) last digit."""
    s = pl.col(col).cast(pl.Utf8)
    v = s.cast(pl.Int64, strict=False)
    data = v // 10
    weights = [2 + i % 6 for i in range(length - 1)]       # from the rightmost data digit
    total = pl.sum_horizontal([((data // (10 ** i)) % 10) * w for i, w in enumerate(weights)])
    r = total % 11
    expected = pl.when(r <= 1).then(0).otherwise(11 - r)
    ok = (s.str.len_bytes() == length) & s.str.contains(r"^[0-9]+$") & ((v % 10) == expected)
    present = s.is_not_null() & (s != "")
    return _f(present & ~_f(ok))


def cp932_bytes(col: str) -> pl.Expr:
    """Bytes the value takes in CP932: ASCII and half-width kana 1, everything else 2 (外字 too), IVS 0."""
    s = pl.col(col).cast(pl.Utf8)
    chars = s.str.len_chars() - s.str.count_matches(IVS)
    wide = s.str.count_matches(r"[^\x00-\x7F\x{FF61}-\x{FF9F}\x{E0100}-\x{E01EF}\x{FE00}-\x{FE0F}]")
    return chars + wide


def _items(table: Table, rule_check: dict) -> list[Item]:
    ids = rule_check.get("items") or [it.id for it in table.items]
    return [table.item(i) for i in ids]


# ---------------------------------------------------------------- generated (ISL) row checks

@row_check("isl_required")
def _isl_required(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    return [RowCheck(it.id, it.name, ~_present(cols, it), "必須項目が空です")
            for it in _items(table, check) if it.id in cols]


@row_check("isl_type")
def _isl_type(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    out = []
    for it in _items(table, check):
        if it.id not in cols:
            continue
        s = _s(it.id)
        present = s.is_not_null() & (s != "")
        if it.type == "digits":
            out.append(RowCheck(it.id, it.name, _f(present & ~s.str.contains(r"^[0-9]+$")), "数字以外の文字があります"))
        elif it.type == "kana":
            out.append(RowCheck(it.id, it.name, _f(present & ~s.str.contains(KANA_RE)), "カナ以外の文字があります"))
        elif it.type == "code":
            out.append(RowCheck(it.id, it.name, _f(present & ~s.str.contains(r"^[0-9A-Za-z]+$")), "コードに英数字以外の文字があります"))
        elif it.type == "integer":
            v = pl.col(it.id).cast(pl.Int64, strict=False)
            bad = (pl.col(it.id).is_not_null() & v.is_null()) | (v < 0) | (v >= 10 ** it.length)
            out.append(RowCheck(it.id, it.name, _f(bad), f"{it.length}桁の0以上の整数ではありません"))
        elif it.type == "decimal":
            v = pl.col(it.id).cast(pl.Float64, strict=False)
            bad = (pl.col(it.id).is_not_null() & v.is_null()) | (v.abs() >= 10.0 ** (it.length - it.scale))
            out.append(RowCheck(it.id, it.name, _f(bad), f"{it.length}桁（小数{it.scale}桁）に収まりません"))
        elif it.type == "flag":
            bad = pl.col(it.id).is_not_null() & ~s.str.to_lowercase().is_in(["true", "false", "0", "1"])
            out.append(RowCheck(it.id, it.name, _f(bad), "真偽値ではありません"))
    return out


@row_check("isl_chars")
def _isl_chars(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    out = []
    for it in _items(table, check):
        if it.id in cols:
            s = _s(it.id)
            exact = (s.str.len_chars() - s.str.count_matches(IVS)) > it.length
            # IVS selectors only lower the count: rows within the length uncounted cannot fail
            out.append(RowCheck(it.id, it.name, _f(s.str.len_chars() > it.length), f"{it.length}文字を超えています",
                                exact=_f(exact)))
    return out


def byte_limit(it: Item) -> int:
    return it.length * (2 if it.type in ("text", "kana") else 1)


@row_check("isl_bytes")
def _isl_bytes(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    out = []
    for it in _items(table, check):
        if it.id in cols:
            s = _s(it.id)
            # CP932 bytes ≤ UTF-8 bytes and ≤ 2 × characters: rows within both bounds cannot fail
            bound = pl.min_horizontal(s.str.len_bytes(), s.str.len_chars() * 2)
            out.append(RowCheck(it.id, it.name, _f(bound > byte_limit(it)), f"CP932 で {byte_limit(it)} バイトを超えます",
                                exact=_f(cp932_bytes(it.id) > byte_limit(it))))
    return out


@row_check("isl_code")
def _isl_code(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    out = []
    for it in _items(table, check):
        if it.id in cols and it.code:
            codes = list(load_code_table(it.code).codes)
            s = _s(it.id)
            bad = s.is_not_null() & (s != "") & ~s.is_in(codes)
            out.append(RowCheck(it.id, it.name, _f(bad), f"コード表「{load_code_table(it.code).name}」にない値です"))
    return out


@row_check("isl_m11")
def _isl_m11(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    return [RowCheck(it.id, it.name, m11_fails(it.id, it.length), "チェックデジット（M11W2-7）が一致しません")
            for it in _items(table, check) if it.id in cols]


@row_check("isl_mynumber")
def _isl_mynumber(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    return [RowCheck(it.id, it.name, m11_fails(it.id, it.length), "個人番号のチェックデジットが一致しません")
            for it in _items(table, check) if it.id in cols]


# ---------------------------------------------------------------- 住民記録 row checks

@lru_cache(maxsize=1)
def _eras():
    from kikan_hub.mapping.era_dates import load_eras

    eras, allowed = load_eras()
    return eras, allowed


def _era_literal_fails(item_id: str) -> pl.Expr:
    """An era literal (era code or letter + YYMMDD) whose ISO date is outside the era its year implies.

    Works whatever the source's era code table was: the era is the one whose first year makes
    YY land on the ISO year, and the ISO date must fall inside it (明治45年7月30日 and
    大正15年12月25日 are allowed, j80)."""
    eras, allowed = _eras()
    lit = pl.col(f"{item_id}_literal").cast(pl.Utf8)
    iso = pl.col(item_id)
    is_era = lit.str.contains(r"^[0-9A-Za-z][0-9]{6}$")
    yy = lit.str.slice(1, 2).cast(pl.Int32, strict=False)
    mm = lit.str.slice(3, 2).cast(pl.Int32, strict=False)
    dd = lit.str.slice(5, 2).cast(pl.Int32, strict=False)
    start_year = iso.dt.year() - yy + 1
    inside = pl.lit(False)
    for i, e in enumerate(eras):
        end = eras[i + 1].start if i + 1 < len(eras) else dt.date(9999, 12, 31)
        inside = inside | ((start_year == e.start.year) & (iso >= pl.lit(e.start)) & (iso < pl.lit(end)))
    names = {e.name: e for e in eras}
    for era_name, y, m, d in allowed:
        e = names[era_name]
        inside = inside | ((start_year == e.start.year) & (yy == y) & (iso == pl.lit(dt.date(e.start.year + y - 1, m, d))))
    md_ok = (iso.dt.month() == mm) & (iso.dt.day() == dd)
    return _f(iso.is_not_null() & is_era & (mm > 0) & (dd > 0) & ~_f(inside & md_ok))


@row_check("juki_dates")
def _juki_dates(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    eras, _ = _eras()
    first = eras[0].start
    only_when = check.get("unknown_only_when") or {}
    out: list[RowCheck] = []
    upper = pl.col("shori_date") if "shori_date" in cols else pl.lit(dt.date.today())
    for it in table.items:
        if it.type not in ("wareki_date", "date") or it.id not in cols:
            continue
        iso = pl.col(it.id)
        if it.type == "wareki_date":
            unk_col, lit_col = f"{it.id}_unknown", f"{it.id}_literal"
            unknown = _f(pl.col(unk_col).cast(pl.Boolean, strict=False)) if unk_col in cols else pl.lit(False)
            if not it.unknown_allowed:
                out.append(RowCheck(it.id, it.name, unknown, "不詳日・暦上日以外の日はこの項目では許されません"))
            elif it.id in only_when:
                cond = only_when[it.id]
                allowed = _s(cond["column"]).is_in([str(v) for v in cond["values"]])
                out.append(RowCheck(it.id, it.name, _f(unknown & ~_f(allowed)),
                                    "不詳日は出生・死亡に係る異動日に限り許されます"))
            if lit_col in cols:
                lit = _s(lit_col)
                lost = lit.is_not_null() & (lit != "") & iso.is_null() & ~unknown
                out.append(RowCheck(it.id, it.name, _f(lost), "元の年月日はあるのに日付も不詳の印もありません"))
                out.append(RowCheck(it.id, it.name, _era_literal_fails(it.id),
                                    "元号と年月日が合いません（元号の期間外）"))
        out.append(RowCheck(it.id, it.name, _f(iso < pl.lit(first)), "明治より前の日付です"))
        # Facts that happened before the record was processed. 異動日・消除日 are not: a 転出届 is
        # processed before the (planned) move, so its 異動日 is legitimately after the 処理日.
        if it.id in set(check.get("not_after_processing", [])):
            out.append(RowCheck(it.id, it.name, _f(iso > upper), "処理日より後の日付です"))
    return out


@row_check("birth_before")
def _birth_before(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    b, e = check.get("birth", "birth_date"), check.get("event", "idou_date")
    if b not in cols or e not in cols:
        return []
    return [RowCheck(b, table.item(b).name, _f(pl.col(b) > pl.col(e)), f"{table.item(e).name}より後です")]


def zokugara_pattern(code_table: str = "zokugara") -> str:
    ct = load_code_table(code_table)
    comp = ct.extra["composition"]
    fixed = "|".join(sorted(comp["fixed"]))
    elems = "|".join(sorted(comp["elements"]))
    return rf"^(?:{fixed}|(?:{elems}){{1,{int(comp['max_generations'])}}})$"


@row_check("zokugara_vocab")
def _zokugara(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    col = check.get("column", "zokugara")
    if col not in cols:
        return []
    s = _s(col)
    vocab = list(load_code_table(check.get("code_table", "zokugara")).codes)
    bad = s.is_not_null() & (s != "") & ~s.is_in(vocab)
    return [RowCheck(col, table.item(col).name, _f(bad), "続柄の語彙（4世代まで）にありません")]


@row_check("implies_present")
def _implies_present(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    a, b = check["if"], check["then"]
    if a not in cols or b not in cols:
        return []
    bi = table.item(b)
    then_present = _present(cols, bi)
    if bi.type == "wareki_date" and f"{b}_unknown" in cols:
        then_present = then_present | _f(pl.col(f"{b}_unknown").cast(pl.Boolean, strict=False))
    ai = table.item(a)
    return [RowCheck(b, bi.name, _f(_present(cols, ai) & ~then_present), f"{ai.name}があるのに{bi.name}がありません")]


# ---------------------------------------------------------------- group checks

def _names(lf: pl.LazyFrame | pl.DataFrame) -> list[str]:
    return lf.collect_schema().names() if isinstance(lf, pl.LazyFrame) else lf.columns


def _lazy(frames: dict, table_id: str) -> pl.LazyFrame | None:
    f = frames.get(table_id)
    return f.lazy() if isinstance(f, pl.DataFrame) else f


COMPACT_ROWS = 262_144     # rows per slice when a group check reads its key columns


def _compact(lf: pl.LazyFrame, keys: list[str], exprs: list[pl.Expr]) -> tuple[pl.DataFrame, bool]:
    """Read `keys` and `exprs` slice by slice into one compact frame.

    Key columns of digits (宛名番号, 世帯番号: the usual case) become Int64 codes "1"+digits —
    one-to-one, leading zeros kept, decoded by ``_decode`` — so sorting and grouping millions
    of keys costs 8 bytes a key. If any key is not 1–18 ASCII digits the keys stay strings.
    Returns (frame, encoded)."""
    n = lf.select(pl.len()).collect().item()

    def read(encode: bool) -> pl.DataFrame | None:
        parts = []
        for off in range(0, max(n, 1), COMPACT_ROWS):
            sl = lf.slice(off, COMPACT_ROWS)
            if encode:
                raw = [pl.col(k).cast(pl.Utf8) for k in keys]
                digits = [r.str.contains(r"^[0-9]{1,18}$") for r in raw]
                enc = [pl.when(d).then(pl.concat_str(pl.lit("1"), r)).cast(pl.Int64, strict=False).alias(k)
                       for k, r, d in zip(keys, raw, digits)]
                bad = pl.any_horizontal([r.is_not_null() & ~d for r, d in zip(raw, digits)]).alias("_bad")
                part = sl.select(*enc, *exprs, bad).collect()
                if part.get_column("_bad").any():
                    return None
                parts.append(part.drop("_bad"))
            else:
                parts.append(sl.select(*[pl.col(k) for k in keys], *exprs).collect())
        return pl.concat(parts, rechunk=False)

    df = read(True)
    return (df, True) if df is not None else (read(False), False)


def _sort_by(df: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    """`df` sorted by (a, b) — as read when it already is (staged rows usually are: no copy)."""
    prev_a, prev_b = pl.col(a).shift(1), pl.col(b).shift(1)
    in_order = ((pl.col(a) > prev_a) | ((pl.col(a) == prev_a) & (pl.col(b) >= prev_b))).fill_null(False)
    if df.height <= 1 or df.select(in_order.slice(1).all()).item():
        return df
    return df.sort(a, b)


def _decode(col: str, encoded: bool) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.slice(1).alias(col) if encoded else pl.col(col)


@group_check("history_consecutive")
def _history(frames: dict[str, pl.LazyFrame], table: Table, check: dict) -> GroupOutcome | None:
    """履歴番号 1..n per key: sorted by (key, 履歴番号), the i-th number of a key must be i."""
    lf = _lazy(frames, table.id)
    key, seq = check["key"], check["seq"]
    if lf is None or key not in _names(lf) or seq not in _names(lf):
        return None
    df, enc = _compact(lf.filter(pl.col(key).is_not_null()), [key], [pl.col(seq)])
    first = pl.col(key).ne_missing(pl.col(key).shift(1))
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    marks = (_sort_by(df, key, seq)
             .select(key, first.alias("_first"),
                     (pl.col(seq) == (pos - pl.when(first).then(pos).forward_fill() + 1)).fill_null(False).alias("_ok")))
    del df
    total = int(marks.get_column("_first").sum())
    bad_keys = marks.filter(~pl.col("_ok")).select(pl.col(key).unique())
    del marks
    rows = _compact(lf.filter(pl.col(key).is_not_null()), [key], [pl.col(seq)])[0] if bad_keys.height else None
    if rows is not None:
        rows = rows.join(bad_keys, on=key, how="semi")
        g = rows.lazy().group_by(key).agg(n=pl.len(), seqs=pl.col(seq).sort().cast(pl.Utf8).str.join(",")).collect()
    else:
        g = pl.DataFrame({key: pl.Series([], dtype=bad_keys.schema[key]), "n": pl.Series([], dtype=pl.UInt32),
                          "seqs": pl.Series([], dtype=pl.Utf8)})
    failures = (g.select(_decode(key, enc), pl.col("n").alias("_rows"), pl.col("seqs").alias("_seqs"),
                         pl.format("履歴番号 {} （{}件）が 1..{} の連番でない", pl.col("seqs"), pl.col("n"), pl.col("n"))
                         .alias("_reason")).sort(key))
    return GroupOutcome(failures=failures, failed=failures.height, total=total, key_columns=[key])


@group_check("setainushi_unique")
def _setainushi(frames: dict[str, pl.LazyFrame], table: Table, check: dict) -> GroupOutcome | None:
    """Exactly one 世帯主 among the rows current at each date where the household changes.

    A history row of a 宛名 is current from its 異動日 until the next row's 異動日 (履歴番号
    order). A row whose 住民状態 is not 住民 (or that has a 消除事由) is a 除票: the person is
    no longer a member from that date. Dates where the household changes are the starts and
    ends of its members' rows; at each, the members' 続柄 must count one 世帯主 (or no member
    at all: the household no longer exists).

    Reads only the columns it needs, reduced on read to integer keys, dates and two flags."""
    lf = _lazy(frames, table.id)
    need = {"atena_no", "rireki_no", "setai_no", "zokugara"}
    if lf is None or not need <= set(_names(lf)):
        return None
    head = str(check.get("head_code", "01"))
    cols = set(_names(lf))
    eff = pl.col("idou_date") if "idou_date" in cols else pl.lit(None, pl.Date)
    if "shori_date" in cols:
        eff = pl.coalesce(eff, pl.col("shori_date"))
    active = pl.lit(True)
    if "jumin_jotai" in cols:
        active = active & (pl.col("jumin_jotai").cast(pl.Utf8).fill_null("1") == "1")
    if "shojo_jiyu" in cols:
        active = active & (pl.col("shojo_jiyu").is_null() | (pl.col("shojo_jiyu").cast(pl.Utf8) == ""))
    far = dt.date(9999, 12, 31)
    base, enc = _compact(lf, ["atena_no", "setai_no"],
                         [pl.col("rireki_no"), eff.alias("_from"), active.alias("_active"),
                          # 世帯主 and current: counts one head (a null 続柄 counts none)
                          (active & (pl.col("zokugara").cast(pl.Utf8) == head)).fill_null(False).alias("_head")])
    total = base.select(pl.col("setai_no").drop_nulls().n_unique()).item()
    rows = (_sort_by(base.filter(pl.col("setai_no").is_not_null() & pl.col("_from").is_not_null()), "atena_no", "rireki_no")
            .lazy()
            .with_columns(_to=pl.when(pl.col("atena_no").shift(-1) == pl.col("atena_no"))
                          .then(pl.col("_from").shift(-1)).otherwise(pl.lit(far)))
            .filter(pl.col("_to") > pl.col("_from"))   # a row superseded on its own day never stands
            .drop("rireki_no")
            .collect())
    del base
    # Sweep: +1 at a current row's start, −1 at its end, per household (除票 rows add 0 but still
    # mark a date where the household changes); sorted by household and date, the running sums
    # after a date's last event are the members and 世帯主 current at that date.
    dm = pl.col("_active").cast(pl.Int8)
    dh = pl.col("_head").cast(pl.Int8)
    ended = rows.filter(pl.col("_to") < pl.lit(far))
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
                  .filter((pl.col("_members") > 0) & (pl.col("_heads") != 1))
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
    del rows
    bad_points = bad_points.with_columns(_decode("setai_no", enc)).sort("setai_no", "_at")
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
    known = pl.concat([_lazy(frames, s).select(pl.col("atena_no").cast(pl.Utf8)) for s in sources]).unique()
    keyed = lf.select(cols).with_row_index("_row")
    reasons = []
    for c in cols:
        reasons.append(keyed.select("_row", pl.col(c).cast(pl.Utf8).alias("_v"))
                       .filter(pl.col("_v").is_not_null() & (pl.col("_v") != ""))
                       .join(known, left_on="_v", right_on="atena_no", how="anti")
                       .select("_row", pl.lit(f"{table.item(c).name}が宛名にありません").alias("_r")))
    rows = (pl.concat(reasons).group_by("_row").agg(_reason=pl.col("_r").str.join("、")).sort("_row")
            .with_columns(_items=pl.lit(",".join(cols))).collect())
    total = lf.select(pl.len()).collect().item()
    return GroupOutcome(failures=pl.DataFrame(), failed=rows.height, total=total,
                        key_columns=list(table.primary_key), rows=rows)


def table_for(table_id: str) -> Table:
    return all_tables()[table_id]
