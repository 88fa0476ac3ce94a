"""住民記録 queries on the canonical store: a person and a household as of a date, 除票, movement statistics.

History (jyuki-stnd j200) is one full-snapshot row per change keyed 宛名番号 + 履歴番号. The state
"as of" a date is the row with the largest 履歴番号 whose 異動日 ≤ that date.

Unknown dates (不詳日, j80): a row whose 異動日 is unknown (``idou_date`` NULL, ``idou_date_unknown``)
is taken to have happened as early as the history allows — on the latest known 異動日 of the
rows before it (履歴番号 order), or on the birth date when none is known, or "always" when
neither is known. Such a row is marked ``date_uncertain`` when the query date falls before the
next known 異動日 (it may not have happened yet by then). The same rule runs in one SQL query
(window functions, SQLite and PostgreSQL alike) for a person, a household, 除票 and EUC.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import Engine, Select, and_, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from kikan_hub.layouts.isl import get_table, load_code_table
from kikan_hub.mapping.typed_date import TypedDateError, parse_typed_date
from kikan_hub.store.schema import build_metadata

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


class JukiQueryError(ValueError):
    """A query a user can correct (bad date, unknown code)."""


def _metadata():
    md = getattr(_metadata, "_md", None)
    if md is None:
        md = build_metadata()
        _metadata._md = md  # type: ignore[attr-defined]
    return md


def jumin_table():
    return _metadata().tables[JUMIN]


def parse_date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if s in ("", "latest", "current", "最新"):
        return None
    try:
        return parse_typed_date(s)  # western or 和暦 (令和6年4月1日, R6.4.1)
    except TypedDateError as exc:
        raise JukiQueryError(str(exc)) from None


def as_of_select(table, as_of: dt.date | None, key: str = "atena_no", where: ColumnElement | None = None,
                 date_col: str = "idou_date", floor_col: str | None = "birth_date"):
    """One row per ``key``: the row with the largest 履歴番号 in effect on ``as_of`` (None = the latest row).

    ``where`` may only restrict whole keys (e.g. ``atena_no IN (...)``): filters on other columns
    belong outside, on the selected rows. Returns a subquery with all columns of ``table`` plus
    ``_eff_date`` and ``_date_uncertain``.
    """
    k = table.c[key]
    order = table.c.rireki_no
    d = table.c[date_col]
    prev_known = func.max(d).over(partition_by=k, order_by=order, rows=(None, 0))
    next_known = func.min(d).over(partition_by=k, order_by=order, rows=(0, None))
    parts = [d, prev_known] + ([table.c[floor_col]] if floor_col else [])
    eff = func.coalesce(*parts).label("_eff_date")
    inner = select(table, eff, next_known.label("_next_known"))
    if where is not None:
        inner = inner.where(where)
    inner = inner.subquery("hist")
    if as_of is None:
        cond = literal(True)
        uncertain = literal(False)
    else:
        cond = or_(inner.c._eff_date <= as_of, inner.c._eff_date.is_(None))
        uncertain = and_(inner.c[date_col].is_(None),
                         or_(inner.c._next_known.is_(None), inner.c._next_known > as_of))
    rn = func.row_number().over(partition_by=inner.c[key], order_by=inner.c.rireki_no.desc()).label("_rn")
    cols = [c for c in inner.c if c.name != "_next_known"]
    ranked = select(*cols, uncertain.label("_date_uncertain"), rn).where(cond).subquery("asof")
    out_cols = [c for c in ranked.c if c.name != "_rn"]
    return select(*out_cols).where(ranked.c._rn == 1).subquery("person_asof")


def _row(m) -> dict[str, Any]:
    r = dict(m)
    if "_date_uncertain" in r:
        r["_date_uncertain"] = bool(r["_date_uncertain"])
    for k, v in list(r.items()):
        if isinstance(v, str) and k.endswith("_date") and len(v) == 10 and v[4] == "-":
            r[k] = dt.date.fromisoformat(v)  # SQLite via a subquery may hand back text
        if k == "_eff_date" and isinstance(v, str):
            r[k] = dt.date.fromisoformat(v)
    return r


def genzon_states() -> tuple[str, ...]:
    """住民状態 codes of a 現存者: 住民 and 転出予定 (j50:消除 on the planned date; j1080)."""
    return tuple(str(c) for c in load_code_table("jumin_jotai").extra.get("genzon", ["1"]))


def is_resident(row: dict) -> bool:
    """A 住民 (not 除票) in this snapshot: no 消除事由 and 住民状態 a 現存者's (or not given)."""
    return not row.get("shojo_jiyu") and (row.get("jumin_jotai") in (None, "") or row.get("jumin_jotai") in genzon_states())


@dataclass
class PersonView:
    atena_no: str
    as_of: dt.date | None
    row: dict | None                # the snapshot in effect (None: not (yet) in the register)
    resident: bool
    date_uncertain: bool
    history: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"atena_no": self.atena_no, "as_of": self.as_of, "found": self.row is not None,
                "resident": self.resident, "date_uncertain": self.date_uncertain, "row": self.row,
                "history": self.history}


def person(engine: Engine, atena_no: str, as_of: dt.date | str | None = None, with_history: bool = False) -> PersonView:
    as_of = parse_date(as_of)
    t = jumin_table()
    sub = as_of_select(t, as_of, where=t.c.atena_no == atena_no)
    with engine.connect() as conn:
        m = conn.execute(select(sub)).mappings().first()
        hist = []
        if with_history:
            hist = [_row(h) for h in conn.execute(select(t).where(t.c.atena_no == atena_no)
                                                  .order_by(t.c.rireki_no)).mappings()]
    row = _row(m) if m else None
    return PersonView(atena_no, as_of, row, bool(row and is_resident(row)),
                      bool(row and row.get("_date_uncertain")), hist)


def household(engine: Engine, setai_no: str, as_of: dt.date | str | None = None) -> list[dict]:
    """The residents whose snapshot in effect on ``as_of`` is in household ``setai_no`` (世帯主 first)."""
    as_of = parse_date(as_of)
    t = jumin_table()
    members = select(t.c.atena_no).where(t.c.setai_no == setai_no).distinct()
    sub = as_of_select(t, as_of, where=t.c.atena_no.in_(members))
    stmt = select(sub).where(sub.c.setai_no == setai_no)
    with engine.connect() as conn:
        rows = [_row(m) for m in conn.execute(stmt).mappings()]
    rows = [r for r in rows if is_resident(r)]
    rows.sort(key=lambda r: (r.get("zokugara") != "01", r.get("zokugara") or "", r["atena_no"]))
    return rows


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
        return [_row(m) for m in conn.execute(stmt).mappings()]


def residents_as_of(engine: Engine, as_of: dt.date | str | None = None) -> list[dict]:
    """All residents (住民, not 除票) in effect on ``as_of``."""
    as_of = parse_date(as_of)
    sub = as_of_select(jumin_table(), as_of)
    with engine.connect() as conn:
        rows = [_row(m) for m in conn.execute(select(sub).order_by(sub.c.atena_no)).mappings()]
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


def as_of_statement(table_id: str, as_of: dt.date | str | None) -> tuple[Select, Any]:
    """(select, subquery) of one snapshot per key of a history table in effect on ``as_of`` — used by EUC.

    juki_jumin uses 異動日 (above). Other history tables (primary key ending in rireki_no) use 処理日."""
    as_of = parse_date(as_of)
    table = _metadata().tables[table_id]
    isl = get_table(table_id)
    if "rireki_no" not in isl.primary_key:
        raise JukiQueryError(f"{table_id} は履歴テーブルではありません (no 履歴番号)")
    key = [k for k in isl.primary_key if k != "rireki_no"]
    if len(key) != 1:
        raise JukiQueryError(f"{table_id}: 時点指定は単一キーの履歴テーブルだけです")
    if table_id == JUMIN:
        sub = as_of_select(table, as_of)
    else:
        date_col = "shori_date" if "shori_date" in table.c else None
        if date_col is None:
            raise JukiQueryError(f"{table_id}: 時点指定に使う日付がありません")
        sub = as_of_select(table, as_of, key=key[0], date_col=date_col, floor_col=None)
    return select(sub), sub
