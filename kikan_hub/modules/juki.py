"""住民記録 queries on the canonical store: a person and a household as of a date, 除票, movement statistics.

"As of a date" (a person, a household, any history table) is implemented once, in
kikan_hub/modules/asof.py (semantics in docs/interfaces.md); its names are re-exported here for
the callers that know them as juki.person / juki.household.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import Engine, func, select

from kikan_hub.layouts.isl import get_table, load_code_table
from kikan_hub.modules.asof import (  # noqa: F401 - re-exported: the one as-of implementation
    AsOfError, HouseholdView, PersonView, as_of_select, as_of_statement, genzon_states, is_resident,
    parse_date, person, persons, row_dict, store_table)
from kikan_hub.modules.asof import household as household_view  # noqa: E402

JUMIN = "juki_jumin"

# 異動事由 (codes/idou_jiyu.yaml) → the movement categories of the statistics.
MOVEMENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "転入": ("11", "12"),   # 国内転入, 国外転入等
    "転出": ("21", "22"),   # 国内転出, 国外転出
    "出生": ("13",),
    "死亡": ("23",),
    "転居": ("41",),
}
UNKNOWN_MONTH = "不詳"
JukiQueryError = AsOfError  # a query a user can correct (bad date, unknown code)


def jumin_table():
    return store_table(JUMIN)


def household(engine: Engine, setai_no: str, as_of: dt.date | str | None = None) -> list[dict]:
    """The members of ``household_view`` (residents in household ``setai_no`` on ``as_of``, 世帯主 first)."""
    return household_view(engine, setai_no, as_of).members


def removed(engine: Engine, as_of: dt.date | str | None = None, jiyu: Iterable[str] | None = None,
            date_from: dt.date | str | None = None, date_to: dt.date | str | None = None) -> list[dict]:
    """除票: persons whose snapshot in effect (latest by default) carries a 消除事由."""
    as_of, date_from, date_to = parse_date(as_of), parse_date(date_from), parse_date(date_to)
    t = jumin_table()
    sub = as_of_select(t, as_of)
    stmt = select(sub).where(sub.c.shojo_jiyu.is_not(None), sub.c.shojo_jiyu != "")
    if jiyu:
        codes = list(jiyu)
        known = load_code_table("shojo_jiyu").codes
        bad = [c for c in codes if c not in known]
        if bad:
            raise JukiQueryError(f"消除事由コードがありません: {bad} (codes/shojo_jiyu.yaml)")
        stmt = stmt.where(sub.c.shojo_jiyu.in_(codes))
    if date_from:
        stmt = stmt.where(sub.c.shojo_date >= date_from)
    if date_to:
        stmt = stmt.where(sub.c.shojo_date <= date_to)
    stmt = stmt.order_by(sub.c.atena_no)
    with engine.connect() as conn:
        return [row_dict(m) for m in conn.execute(stmt).mappings()]


def residents_as_of(engine: Engine, as_of: dt.date | str | None = None) -> list[dict]:
    """All residents (住民, not 除票) in effect on ``as_of``."""
    as_of = parse_date(as_of)
    sub = as_of_select(jumin_table(), as_of)
    with engine.connect() as conn:
        rows = [row_dict(m) for m in conn.execute(select(sub).order_by(sub.c.atena_no)).mappings()]
    return [r for r in rows if is_resident(r)]


@dataclass
class MovementStats:
    by_month: dict[str, Counter]        # "YYYY-MM" (or 不詳) → category → count
    by_machiaza: dict[str, Counter]     # 町字 (or "") → category → count
    totals: Counter

    def as_dict(self) -> dict:
        return {"by_month": {k: dict(v) for k, v in sorted(self.by_month.items())},
                "by_machiaza": {k: dict(v) for k, v in sorted(self.by_machiaza.items())},
                "totals": dict(self.totals), "categories": list(MOVEMENT_CATEGORIES)}


def movement_stats(engine: Engine, date_from: dt.date | str | None = None, date_to: dt.date | str | None = None,
                   machiaza: str | None = None) -> MovementStats:
    """転入・転出・出生・死亡・転居 counts per month (異動日) and per 町字 (the 町字 on the movement's row:
    the new address for 転入/転居/出生, the last address for 転出/死亡). Rows with an unknown 異動日
    count under 不詳 and are left out when a date range is given."""
    date_from, date_to = parse_date(date_from), parse_date(date_to)
    t = jumin_table()
    code_to_cat = {c: cat for cat, codes in MOVEMENT_CATEGORIES.items() for c in codes}
    stmt = (select(t.c.idou_jiyu, t.c.idou_date, t.c.machiaza, func.count().label("n"))
            .where(t.c.idou_jiyu.in_(list(code_to_cat)))
            .group_by(t.c.idou_jiyu, t.c.idou_date, t.c.machiaza))
    if date_from:
        stmt = stmt.where(t.c.idou_date >= date_from)
    if date_to:
        stmt = stmt.where(t.c.idou_date <= date_to)
    if machiaza:
        stmt = stmt.where(t.c.machiaza == machiaza)
    by_month: dict[str, Counter] = defaultdict(Counter)
    by_machiaza: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    with engine.connect() as conn:
        for jiyu, d, ma, n in conn.execute(stmt):
            cat = code_to_cat[jiyu]
            if isinstance(d, str):
                d = dt.date.fromisoformat(d)
            month = d.strftime("%Y-%m") if d else UNKNOWN_MONTH
            by_month[month][cat] += n
            by_machiaza[ma or ""][cat] += n
            totals[cat] += n
    return MovementStats(dict(by_month), dict(by_machiaza), totals)


def history_columns() -> list[str]:
    return [c.name for c in get_table(JUMIN).columns if c.role != "lineage"]
