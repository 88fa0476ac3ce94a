""""As of a date": the one implementation of a history table's state on a day (person, household, any table).

SOAP, REST, the CLI (`kikan juki person|household`), EUC, 除票 and the rosters all call this module;
the semantics are written once, in docs/interfaces.md ("As of a date"):

- History (jyuki-stnd j200) is one full-snapshot row per change, keyed by the record's key + 履歴番号.
  The state on day D is the row with the largest 履歴番号 whose effective date is ≤ D.
- Effective date: the table's date items in order (``EFFECTIVE_DATES``; 住民: 異動日, 世帯:
  世帯構成年月日 then 処理日, other tables: 処理日).
- Unknown dates (不詳日, j80: 異動日 of 出生・死亡・失踪 may be 不詳): such a change is taken to have
  happened as early as the history allows — on the latest known date of the rows before it
  (履歴番号 order), else on the birth date (住民), else "always". It is never placed on its 処理日:
  the 処理日 says when the hub's source recorded it, not when it happened. An answer that rests on
  such a row carries ``date_uncertain`` (the change may not have happened yet by D: it lies between
  the previous known date and the next one).
- ``as_of=None`` is the latest row whatever its date (the register as it stands).

The rule is one SQL query (window functions, SQLite and PostgreSQL alike).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Select, and_, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from kikan_hub.layouts.isl import all_tables, load_code_table
from kikan_hub.mapping.typed_date import TypedDateError, parse_typed_date
from kikan_hub.store.schema import build_metadata

JUMIN, SETAI = "juki_jumin", "juki_setai"

# table id → (date columns tried in order, floor column for a key with no known date at all).
# A table not listed uses 処理日 when it has one.
EFFECTIVE_DATES: dict[str, tuple[tuple[str, ...], str | None]] = {
    JUMIN: (("idou_date",), "birth_date"),
    SETAI: (("setai_kosei_date", "shori_date"), None),
}


class AsOfError(ValueError):
    """A query a user can correct (a date that is not one, a table without history)."""


@lru_cache(maxsize=1)
def _metadata():
    return build_metadata()


def store_table(table_id: str):
    return _metadata().tables[table_id]


def parse_date(value: str | dt.date | None) -> dt.date | None:
    """None / '' / latest / 最新 → None (the latest row); ISO or 和暦 (令和6年4月1日, R6.4.1) → a date."""
    if value is None or isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if s in ("", "latest", "current", "最新"):
        return None
    try:
        return parse_typed_date(s)
    except TypedDateError as exc:
        raise AsOfError(str(exc)) from None


def as_of_select(table, as_of: dt.date | None, key: str = "atena_no", where: ColumnElement | None = None,
                 date_col: str | tuple[str, ...] = "idou_date", floor_col: str | None = "birth_date"):
    """One row per ``key``: the row with the largest 履歴番号 in effect on ``as_of`` (None = the latest row).

    ``date_col`` is one column or several tried in order. ``where`` may only restrict whole keys (e.g.
    ``atena_no IN (...)``): filters on other columns belong outside, on the selected rows. Returns a
    subquery with all columns of ``table`` plus ``_eff_date`` and ``_date_uncertain``.
    """
    k = table.c[key]
    order = table.c.rireki_no
    cols = (date_col,) if isinstance(date_col, str) else tuple(date_col)
    d = table.c[cols[0]] if len(cols) == 1 else func.coalesce(*(table.c[c] for c in cols))
    prev_known = func.max(d).over(partition_by=k, order_by=order, rows=(None, 0))
    next_known = func.min(d).over(partition_by=k, order_by=order, rows=(0, None))
    parts = [d, prev_known] + ([table.c[floor_col]] if floor_col else [])
    eff = func.coalesce(*parts).label("_eff_date")
    inner = select(table, d.label("_own_date"), eff, next_known.label("_next_known"))
    if where is not None:
        inner = inner.where(where)
    inner = inner.subquery("hist")
    if as_of is None:
        cond = literal(True)
        uncertain = literal(False)
    else:
        cond = or_(inner.c._eff_date <= as_of, inner.c._eff_date.is_(None))
        uncertain = and_(inner.c._own_date.is_(None),
                         or_(inner.c._next_known.is_(None), inner.c._next_known > as_of))
    rn = func.row_number().over(partition_by=inner.c[key], order_by=inner.c.rireki_no.desc()).label("_rn")
    keep = [c for c in inner.c if c.name not in ("_next_known", "_own_date")]
    ranked = select(*keep, uncertain.label("_date_uncertain"), rn).where(cond).subquery("asof")
    out_cols = [c for c in ranked.c if c.name != "_rn"]
    return select(*out_cols).where(ranked.c._rn == 1).subquery("person_asof")


def table_as_of_select(table_id: str, as_of: dt.date | None, where: ColumnElement | None = None):
    """``as_of_select`` with the table's own key and effective date (``EFFECTIVE_DATES``)."""
    isl = all_tables()[table_id]
    if "rireki_no" not in isl.primary_key:
        raise AsOfError(f"{table_id} は履歴テーブルではありません (no 履歴番号)")
    key = [k for k in isl.primary_key if k != "rireki_no"]
    if len(key) != 1:
        raise AsOfError(f"{table_id}: 時点指定は単一キーの履歴テーブルだけです")
    table = store_table(table_id)
    dates, floor = EFFECTIVE_DATES.get(table_id, (("shori_date",), None))
    if not all(c in table.c for c in dates):
        raise AsOfError(f"{table_id}: 時点指定に使う日付がありません")
    return as_of_select(table, as_of, key=key[0], where=where, date_col=dates, floor_col=floor)


def as_of_statement(table_id: str, as_of: dt.date | str | None) -> tuple[Select, Any]:
    """(select, subquery) of one snapshot per key of a history table in effect on ``as_of`` (EUC)."""
    sub = table_as_of_select(table_id, parse_date(as_of))
    return select(sub), sub


def row_dict(m) -> dict[str, Any]:
    """A result row as a dict; dates typed (SQLite via a subquery may hand back text)."""
    r = dict(m)
    if "_date_uncertain" in r:
        r["_date_uncertain"] = bool(r["_date_uncertain"])
    for k, v in list(r.items()):
        if isinstance(v, str) and (k.endswith("_date") or k == "_eff_date") and len(v) == 10 and v[4] == "-":
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


def persons(engine: Engine, atena_nos: list[str], as_of: dt.date | str | None = None) -> list[PersonView]:
    """The snapshot of each 宛名番号 in effect on ``as_of`` (those not in the register then are left out)."""
    as_of = parse_date(as_of)
    if not atena_nos:
        return []
    t = store_table(JUMIN)
    sub = table_as_of_select(JUMIN, as_of, where=t.c.atena_no.in_(sorted(set(atena_nos))))
    with engine.connect() as conn:
        rows = [row_dict(m) for m in conn.execute(select(sub).order_by(sub.c.atena_no)).mappings()]
    return [PersonView(r["atena_no"], as_of, r, is_resident(r), r["_date_uncertain"]) for r in rows]


def person(engine: Engine, atena_no: str, as_of: dt.date | str | None = None, with_history: bool = False) -> PersonView:
    as_of = parse_date(as_of)
    found = persons(engine, [atena_no], as_of)
    view = found[0] if found else PersonView(atena_no, as_of, None, False, False)
    if with_history:
        t = store_table(JUMIN)
        with engine.connect() as conn:
            view.history = [row_dict(h) for h in conn.execute(select(t).where(t.c.atena_no == atena_no)
                                                              .order_by(t.c.rireki_no)).mappings()]
    return view


@dataclass
class HouseholdView:
    setai_no: str
    as_of: dt.date | None
    setai: dict | None              # the 世帯 row in effect (None: no such household on that day)
    members: list[dict]             # residents whose snapshot in effect is in this household, 世帯主 first
    date_uncertain: list[str]       # everyone ever in it whose state on the day rests on an unknown date

    def people(self) -> list[str]:
        """Every 宛名番号 the answer names (members, then the date-uncertain ones): what a guard must check."""
        return list(dict.fromkeys([m["atena_no"] for m in self.members] + self.date_uncertain))

    def withheld(self, hidden: set[str]) -> "HouseholdView":
        """Without the 支援対象者 in ``hidden`` (j160): a household with one among its members is withheld
        whole (its address is theirs); one only named as date-uncertain is left out of that list."""
        if not hidden:
            return self
        if any(m["atena_no"] in hidden for m in self.members):
            return HouseholdView(self.setai_no, self.as_of, None, [], [])
        return HouseholdView(self.setai_no, self.as_of, self.setai, self.members,
                             [a for a in self.date_uncertain if a not in hidden])

    def as_dict(self) -> dict:
        return {"setai_no": self.setai_no, "as_of": self.as_of, "setai": self.setai, "count": len(self.members),
                "members": self.members, "date_uncertain": self.date_uncertain}


def household(engine: Engine, setai_no: str, as_of: dt.date | str | None = None) -> HouseholdView:
    """The 世帯 row and the residents whose snapshot in effect on ``as_of`` is in household ``setai_no``."""
    as_of = parse_date(as_of)
    t, s = store_table(JUMIN), store_table(SETAI)
    ever = select(t.c.atena_no).where(t.c.setai_no == setai_no).distinct()
    sub = table_as_of_select(JUMIN, as_of, where=t.c.atena_no.in_(ever))
    ssub = table_as_of_select(SETAI, as_of, where=s.c.setai_no == setai_no)
    with engine.connect() as conn:
        snaps = [row_dict(m) for m in conn.execute(select(sub).order_by(sub.c.atena_no)).mappings()]
        srow = conn.execute(select(ssub)).mappings().first()
    members = [r for r in snaps if r["setai_no"] == setai_no and is_resident(r)]
    members.sort(key=lambda r: (r.get("zokugara") != "01", r.get("zokugara") or "", r["atena_no"]))
    uncertain = [r["atena_no"] for r in snaps if r["_date_uncertain"]]
    return HouseholdView(setai_no, as_of, row_dict(srow) if srow else None, members, uncertain)
