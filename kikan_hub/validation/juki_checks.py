"""住民記録 checks that follow the 住民記録システム標準仕様書 (jyuki-stnd jNNN) item by item.

Row checks (vectorised polars, one expression per finding) and group checks (one 宛名 or one
household at a time) registered like those of checks.py / group_checks.py. Each check reads its
facts from the definitions and code tables (required_when, gaikokujin_kubun.needs, jumin_jotai
genzon …), so the rule files only say which check runs where and how severe it is.
"""
from __future__ import annotations

import polars as pl

from kikan_hub.layouts.isl import Item, Table, load_code_table
from kikan_hub.validation.check_digits import m11_fails
from kikan_hub.validation.checks import (
    GroupOutcome, RowCheck, _f, _items, _present, _s, group_check, row_check,
)


def _genzon() -> list[str]:
    return [str(c) for c in load_code_table("jumin_jotai").extra.get("genzon", ["1"])]


def johyo(cols: set[str]) -> pl.Expr:
    """A 除票 row (j50): a 消除事由, or a 住民状態 that is not a 現存者's (住民・転出予定)."""
    e = pl.lit(False)
    if "shojo_jiyu" in cols:
        e = e | (_s("shojo_jiyu").is_not_null() & (_s("shojo_jiyu") != ""))
    if "jumin_jotai" in cols:
        e = e | (_s("jumin_jotai").is_not_null() & ~_s("jumin_jotai").is_in(_genzon()))
    return _f(e)


def _when(cols: set[str], it: Item) -> pl.Expr | None:
    cond = pl.lit(True)
    for col, values in it.required_when:
        if col not in cols:
            return None             # the condition cannot be told: not this check's business
        cond = cond & _s(col).is_in(list(values))
    if it.required_except == "johyo":
        cond = cond & ~johyo(cols)
    return _f(cond)


def _condition_text(table: Table, it: Item) -> str:
    parts = []
    for col, values in it.required_when:
        ci = table.item(col)
        labels = load_code_table(ci.code).codes if ci.code else {}
        parts.append("・".join(labels.get(v, v) for v in values))
    if it.required_except == "johyo":
        parts.append("除票以外")
    return "、".join(parts)


@row_check("isl_required_when")
def _required_when(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    """j60: items that must not be empty in a condition (日本人住民の本籍, 除票以外の住民票コード …)."""
    out = []
    for it in _items(table, check):
        if it.id not in cols or not (it.required_when or it.required_except):
            continue
        cond = _when(cols, it)
        if cond is not None:
            out.append(RowCheck(it.id, it.name, _f(cond & ~_present(cols, it)),
                                f"{_condition_text(table, it)}では空欄を許容しません"))
    return out


@row_check("juminhyo_code_digit")
def _juminhyo_code(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    col = check.get("column", "juminhyo_code")
    if col not in cols:
        return []
    # The 告示's formula could not be read here: M11 (weights 2–7) as the sample and CS use is assumed
    return [RowCheck(col, table.item(col).name, m11_fails(col, table.item(col).length),
                     "住民票コードの検査数字が一致しません（算式は要確認）")]


@row_check("gaikokujin_consistency")
def _gaikokujin(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    """j20/j60: a 外国人住民 has 国籍・地域 and 法第30条の45区分, and each 区分 its own items; a
    特別永住者 has no 在留資格; a 日本人住民 has none of them."""
    need = {"jumin_shubetsu", "gaikokujin_kubun"}
    if not need <= cols:
        return []
    ct = load_code_table("gaikokujin_kubun")
    foreign = _s("jumin_shubetsu") == "2"
    kubun = _s("gaikokujin_kubun")
    jo = johyo(cols)
    out: list[RowCheck] = []
    for code, needs in (ct.extra.get("needs") or {}).items():
        for n in needs:
            item = n["item"]
            if item not in cols:
                continue
            it = table.item(item)
            cond = foreign & (kubun == str(code))
            if n.get("except_johyo"):
                cond = cond & ~jo
            out.append(RowCheck(item, it.name, _f(cond & ~_present(cols, it)),
                                f"{ct.codes[str(code)]}の{it.name}がありません"))
    if "zairyu_shikaku" in cols:
        no_shikaku = [str(c) for c in ct.extra.get("no_zairyu_shikaku", [])]
        out.append(RowCheck("zairyu_shikaku", table.item("zairyu_shikaku").name,
                            _f(foreign & kubun.is_in(no_shikaku) & _present(cols, table.item("zairyu_shikaku"))),
                            "この区分（特別永住者等）は在留資格を持ちません"))
        not_chuchoki = [str(c) for c in load_code_table("zairyu_shikaku").extra.get("not_chuchoki", [])]
        out.append(RowCheck("zairyu_shikaku", table.item("zairyu_shikaku").name,
                            _f(foreign & (kubun == "1") & _s("zairyu_shikaku").is_in(not_chuchoki)),
                            "この在留資格（外交・公用・短期滞在）では中長期在留者になりません"))
    if "kokuseki" in cols:
        out.append(RowCheck("kokuseki", table.item("kokuseki").name, _f(foreign & (_s("kokuseki") == "392")),
                            "外国人住民の国籍・地域が日本です（日本人住民ではありませんか）"))
    japanese = _s("jumin_shubetsu") == "1"
    for item in ("kokuseki", "gaikokujin_kubun", "zairyu_shikaku", "zairyu_card_no"):
        if item in cols:
            it = table.item(item)
            out.append(RowCheck(item, it.name, _f(japanese & _present(cols, it)), f"日本人住民に{it.name}があります"))
    if "zairyu_card_no" in cols:   # 英字2桁＋数字8桁＋英字2桁 (to verify): a shape check only
        s = _s("zairyu_card_no")
        out.append(RowCheck("zairyu_card_no", table.item("zairyu_card_no").name,
                            _f(foreign & s.is_not_null() & (s != "") & ~s.str.contains(r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$")),
                            "在留カード等の番号の形（英字2桁＋数字8桁＋英字2桁）ではありません"))
    return out


@row_check("zairyu_manryo_past")
def _manryo_past(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    """j20: 在留期間の満了の日 already past when the row was processed, on a 住民票 that is not a 除票."""
    if not {"zairyu_manryo_date", "shori_date", "jumin_shubetsu"} <= cols:
        return []
    past = (_s("jumin_shubetsu") == "2") & (pl.col("zairyu_manryo_date") < pl.col("shori_date")) & ~johyo(cols)
    return [RowCheck("zairyu_manryo_date", table.item("zairyu_manryo_date").name, _f(past),
                     "在留期間の満了の日が処理日より前です（在留期間の更新・出国の確認）")]


@row_check("dates_in_order")
def _dates_in_order(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    """Each pair (a, b) of check.pairs: a ≤ b where both are known dates (不詳日 are not compared);
    check.equal_when: {item: …, equals: …, column: …, values: […]} — equal dates on those 異動事由."""
    out = []
    for a, b in check.get("pairs", []):
        if a in cols and b in cols:
            out.append(RowCheck(b, table.item(b).name, _f(pl.col(a) > pl.col(b)),
                                f"{table.item(a).name}より前です"))
    eq = check.get("equal_when")
    if eq and {eq["item"], eq["equals"], eq["column"]} <= cols:
        on = _s(eq["column"]).is_in([str(v) for v in eq["values"]])
        out.append(RowCheck(eq["item"], table.item(eq["item"]).name,
                            _f(on & (pl.col(eq["item"]) != pl.col(eq["equals"]))),
                            f"出生の{table.item(eq['item']).name}が{table.item(eq['equals']).name}と異なります"))
    return out


@row_check("shojo_consistency")
def _shojo(table: Table, cols: set[str], check: dict) -> list[RowCheck]:
    """j50, j210: a 除票 (住民状態 転出・死亡・消除等) has a 消除事由 and a 消除事由 a 除票's 住民状態;
    a 消除 異動 (異動事由 2x) gives a 消除事由."""
    if not {"shojo_jiyu", "jumin_jotai"} <= cols:
        return []
    jiyu = _s("shojo_jiyu").is_not_null() & (_s("shojo_jiyu") != "")
    jotai = _s("jumin_jotai")
    genzon = jotai.is_in(_genzon())
    name = table.item("shojo_jiyu").name
    out = [RowCheck("shojo_jiyu", name, _f(jotai.is_not_null() & ~genzon & ~jiyu), "除票の住民状態なのに消除事由がありません"),
           RowCheck("shojo_jiyu", name, _f(jiyu & genzon), "消除事由があるのに住民状態が現存者です")]
    if "idou_jiyu" in cols:
        shojo_codes = [str(c) for c in load_code_table("idou_jiyu").extra["kubun"]["消除"]]
        out.append(RowCheck("shojo_jiyu", name, _f(_s("idou_jiyu").is_in(shojo_codes) & ~jiyu),
                            "消除の異動事由なのに消除事由がありません"))
    return out


# ---------------------------------------------------------------- group checks

def _lazy(frames: dict, table_id: str) -> pl.LazyFrame | None:
    f = frames.get(table_id)
    return f.lazy() if isinstance(f, pl.DataFrame) else f


@group_check("one_number_per_atena")
def _one_number(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    """One 個人番号 (住民票コード …) per 宛名番号 and one 宛名番号 per number: a number under two 宛名
    is a duplicate person; a 宛名 with two numbers needs a change 異動 (変更請求・職権修正) between them."""
    lf = _lazy(frames, table.id)
    col = check["column"]
    if lf is None or not {"atena_no", col} <= set(lf.collect_schema().names()):
        return None
    names = lf.collect_schema().names()
    change = [str(v) for v in check.get("change_jiyu", [])]
    has_jiyu = "idou_jiyu" in names and change
    v = pl.col(col).cast(pl.Utf8)
    rows = (lf.filter(v.is_not_null() & (v != ""))
            .select(pl.col("atena_no").cast(pl.Utf8), v.alias("_v"),
                    (pl.col("idou_jiyu").cast(pl.Utf8).is_in(change) if has_jiyu else pl.lit(False)).alias("_chg"))
            .collect())
    total = rows.select(pl.col("atena_no").n_unique()).item() if rows.height else 0
    shared = (rows.group_by("_v").agg(pl.col("atena_no").unique().sort().alias("_atena"))
              .filter(pl.col("_atena").list.len() > 1))
    label = table.item(col).name
    # the number is never shown (個人番号 and 住民票コード are masked even in failures)
    dup = shared.explode("_atena").select(pl.col("_atena").alias("atena_no"),
                                          pl.format("同じ{}が他の宛名番号（{}件）にもあります", pl.lit(label),
                                                    pl.col("_atena").len().over("_v") - 1).alias("_reason"))
    per = (rows.group_by("atena_no").agg(pl.col("_v").n_unique().alias("_n"), pl.col("_chg").sum().alias("_c"))
           .filter(pl.col("_n") - 1 > pl.col("_c"))
           .select("atena_no", pl.format("{}が{}種類あり、その変更の異動がありません", pl.lit(label), pl.col("_n")).alias("_reason")))
    failures = (pl.concat([dup, per]).group_by("atena_no").agg(pl.col("_reason").unique().sort().str.join("、"))
                .sort("atena_no"))
    return GroupOutcome(failures=failures, failed=failures.height, total=total, key_columns=["atena_no"])


@group_check("zokugara_sanity")
def _zokugara_sanity(frames: dict, table: Table, check: dict) -> GroupOutcome | None:
    """j110 sanity (warn): against the 世帯主 in effect at the row's 異動日 (the latest 世帯主 row of the
    household on or before it), a 子 (or 子の子 …) older than the 世帯主, or a 父・母 younger."""
    lf = _lazy(frames, table.id)
    need = {"atena_no", "rireki_no", "setai_no", "zokugara", "birth_date", "idou_date"}
    if lf is None or not need <= set(lf.collect_schema().names()):
        return None
    base = (lf.select(pl.col("atena_no").cast(pl.Utf8), "rireki_no", pl.col("setai_no").cast(pl.Utf8),
                      pl.col("zokugara").cast(pl.Utf8), "birth_date", "idou_date")
            .filter(pl.col("setai_no").is_not_null() & pl.col("idou_date").is_not_null()).collect())
    heads = (base.filter((pl.col("zokugara") == "01") & pl.col("birth_date").is_not_null())
             .select("setai_no", "idou_date", pl.col("birth_date").alias("_head_birth"),
                     pl.col("atena_no").alias("_head")).sort("setai_no", "idou_date"))
    younger = [str(c) for c in check.get("younger_than_head", ["20", "2020", "202020", "20202020"])]  # 子, 子の子 …
    older = [str(c) for c in check.get("older_than_head", ["31", "32"])]  # 父, 母
    rows = base.filter(pl.col("birth_date").is_not_null()
                       & pl.col("zokugara").is_in(younger + older)).sort("setai_no", "idou_date")
    total = base.height
    if not rows.height or not heads.height:
        return GroupOutcome(failures=rows.head(0).select("atena_no", "rireki_no", pl.lit("").alias("_reason")),
                            failed=0, total=total, key_columns=["atena_no", "rireki_no"])
    # both sorted by (setai_no, idou_date) above
    j = (rows.join_asof(heads, on="idou_date", by="setai_no", strategy="backward", check_sortedness=False)
         .filter(pl.col("_head") != pl.col("atena_no")))
    is_younger = pl.col("zokugara").is_in(younger)
    bad = j.filter((is_younger & (pl.col("birth_date") < pl.col("_head_birth")))
                   | (pl.col("zokugara").is_in(older) & (pl.col("birth_date") > pl.col("_head_birth"))))
    failures = bad.select("atena_no", "rireki_no", "setai_no",
                          pl.when(is_younger).then(pl.lit("世帯主より年上の子（子の子等）です"))
                          .otherwise(pl.lit("世帯主より年下の父・母です")).alias("_reason")).sort("atena_no", "rireki_no")
    return GroupOutcome(failures=failures, failed=failures.height, total=total, key_columns=["atena_no", "rireki_no"])
