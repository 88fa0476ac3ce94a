"""The registered checks a rule's ``check: {kind: …}`` names, as vectorised polars code.

Two shapes:

* **row checks** return ``RowCheck`` objects — a polars expression that is True where a row
  fails, with the item and a Japanese message. The engine evaluates all row checks of a table
  in one ``select`` and the same expressions compile to pandera checks (schemas.py).
* **group checks** (history numbering, 世帯主 per household, cross-table references; they
  live in group_checks.py and register here) take the tables as lazy frames and return a
  ``GroupOutcome``: the failing units (with keys) or the failing rows by index, their count
  and the number of units looked at.

Every check treats a missing value as "not this rule's business" (required-ness is its own rule).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import polars as pl

from kikan_hub.layouts.isl import Item, Table, all_tables, load_code_table
from kikan_hub.validation.check_digits import m11_fails

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
                                    "不詳日は出生・死亡・失踪（職権消除）に係る異動日に限り許されます"))
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


def table_for(table_id: str) -> Table:
    return all_tables()[table_id]


# The 住民記録 checks register themselves here too, so that every user of ROW_CHECKS /
# GROUP_CHECKS (engine, pandera schemas, GE export) sees them.
from kikan_hub.validation import juki_checks  # noqa: E402,F401
